"""The EMQX console: a Django admin-style web UI over the typed client in emqx/."""
