"""The CAS book-building dialect's HTTP routes."""
