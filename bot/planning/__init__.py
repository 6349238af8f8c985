"""bot/planning"""
