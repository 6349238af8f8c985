"""bot/networks/console"""
