"""bot/networks/mastodon"""
