"""Client allocation files: reading, checking and booking them."""
