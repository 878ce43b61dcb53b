"""Forms, one module per kind: cleaned_data becomes typed objects or patches, never raw dicts in views."""
