"""The ingress benchmark (see bench/README.md): `python bench/ingress.py`."""
