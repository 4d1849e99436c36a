"""The ETNA dialect's HTTP routes."""
