"""The web app for staff and organisers: pages, a JSON API, /healthz and /metrics.

It runs in its own process (`campaign-bot web`) and never starts the scheduler: it calls the same service
functions as the CLI and reads through the reports.
"""
