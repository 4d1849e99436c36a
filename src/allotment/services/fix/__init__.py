"""The FIX door's use cases."""
