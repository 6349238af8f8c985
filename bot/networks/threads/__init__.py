"""bot/networks/threads"""
