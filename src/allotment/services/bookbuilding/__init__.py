"""The CAS book-building dialect's use cases."""
