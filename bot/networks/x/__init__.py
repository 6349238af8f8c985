"""bot/networks/x"""
