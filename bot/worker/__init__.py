"""bot/worker"""
