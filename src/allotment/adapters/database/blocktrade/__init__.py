"""The block-trade dialect's tables and queries."""
