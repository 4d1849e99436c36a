"""The FIX door's wiring: the acceptor of adapters/fix over the container's services."""
