"""Alerts: a person told when it matters (issue 12).

settings.py reads `[[alerts]]` from the config; detect.py finds what happened in the database (the source of
truth) and queue.py records each event once, with one row per destination; transport.py sends through
Apprise; runner.py is the periodic step the daemon and the web process both run. Kept empty here so that
bot/config.py can import the settings without pulling in the rest.
"""
