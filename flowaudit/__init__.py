"""flowaudit: what a mobile app really sends, compared with what it declares."""

__version__ = "0.1.0"
