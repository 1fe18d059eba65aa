"""flowaudit's pure analysis core: no I/O frameworks, no mitmproxy, scapy, SQLAlchemy or FastAPI."""
