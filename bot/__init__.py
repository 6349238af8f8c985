"""campaign-bot: posts urgent-action calls to action on schedule, and the thanks when a case closes."""

__version__ = "0.1.0"
