"""speaker: an offline home speaker with a warm voice."""

__version__ = "0.1.0"
