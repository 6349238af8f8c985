"""bot/networks/facebook"""
