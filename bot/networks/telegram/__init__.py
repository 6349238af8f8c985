"""bot/networks/telegram"""
