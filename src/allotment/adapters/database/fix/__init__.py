"""The FIX door's tables and queries."""
