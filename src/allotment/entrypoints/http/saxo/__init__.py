"""The Saxo dialect's HTTP routes."""
