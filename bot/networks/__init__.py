"""One adapter per network behind the small interface in base.py; registry.py maps a kind to its class."""
