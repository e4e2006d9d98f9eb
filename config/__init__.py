"""Configuration: the one settings object, logging set-up, and the wiring of clients from settings.

This package is the composition root: it may import adapters (storage, notifications) to build them, but nothing
below it imports `config` back except through the objects it hands out.
"""

from config.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
