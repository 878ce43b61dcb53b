"""Tests of the emqx package: models and codegen (no cluster), client (against the sandbox)."""
