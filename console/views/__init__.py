"""Function views, one module per kind (see console/urls.py)."""
