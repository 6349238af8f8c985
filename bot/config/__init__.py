"""bot/config"""
