"""The terraform driver: the only package that starts terraform."""
