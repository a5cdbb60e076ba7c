"""The shop's order handling."""
