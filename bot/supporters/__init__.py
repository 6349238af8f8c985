"""Supporters: people who let the bot boost the organisation's posts from their own Mastodon or Bluesky account.

- tables.py: the supporters, the campaigns each chose, Mastodon apps registered per instance, planned waves.
- crypto.py: Fernet encryption of every stored secret (key from $CAMPAIGN_BOT_SECRET_KEY).
- service.py: the store API the CLI and the web app call (connect, set_campaigns, disconnect, ...).
- accounts.py: supporters as outbox accounts (``supporter:<id>``) for the account directory.

Importing this package imports nothing else: the web app and the CLI import the module they need.
"""
