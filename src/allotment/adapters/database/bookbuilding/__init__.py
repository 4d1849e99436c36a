"""The CAS book-building dialect's tables and queries."""
