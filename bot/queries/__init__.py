"""bot/queries"""
