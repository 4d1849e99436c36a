"""The Saxo dialect's tables and queries."""
