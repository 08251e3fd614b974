"""Repositories: small functions over a Session. They flush, never commit."""
