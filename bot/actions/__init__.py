"""bot/actions"""
