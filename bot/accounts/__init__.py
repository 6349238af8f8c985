"""bot/accounts"""
