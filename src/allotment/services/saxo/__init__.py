"""The Saxo dialect's use cases."""
