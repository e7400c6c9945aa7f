"""Former name of `python -m plan`, kept for scripts that still call it."""

import runpy
import sys

if __name__ == "__main__":
    print("prep.plan is now `python -m plan`; running that.", file=sys.stderr)
    runpy.run_module("plan", run_name="__main__")
