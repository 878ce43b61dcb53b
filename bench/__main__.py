"""`python -m bench`: the console's speed and the load it puts on the API server (see bench/run.py)."""

from bench.run import main

main()
