"""The block-trade dialect's use cases."""
