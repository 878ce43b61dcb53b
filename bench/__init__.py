"""Benchmark scripts that print numbers (see docs/benchmarks.md). `python -m bench` runs the console's."""
