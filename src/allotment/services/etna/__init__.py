"""The ETNA dialect's use cases."""
