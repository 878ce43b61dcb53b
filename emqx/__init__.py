"""Typed access to the EMQX operator's custom resources (apps.emqx.io): models, client, codegen."""
