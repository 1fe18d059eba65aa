"""The FastAPI dashboard and JSON API."""
