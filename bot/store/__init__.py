"""The database: the one source of truth for what is planned, sent, cancelled and failed."""
