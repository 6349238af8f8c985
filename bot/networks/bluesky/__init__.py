"""bot/networks/bluesky"""
