"""The block-trade dialect's HTTP routes and its XML codec."""
