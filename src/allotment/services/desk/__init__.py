"""The operations desk's use cases."""
