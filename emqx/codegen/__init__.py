"""Code generation: the vendored CRDs (emqx/crds/) -> pydantic models (emqx/models/apps_*.py).

Run `python -m emqx.codegen` to regenerate, `python -m emqx.codegen --verify` to check the committed files.
Steps: `schema` prepares each CRD version's schema (names, deduplication, Kubernetes extensions, patterns),
datamodel-code-generator writes the classes (`generate`), `targets` lists what goes where.
"""
