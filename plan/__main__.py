"""`python -m plan CONFIG... [--data JSONL]`: exits 1 when any run would fail, drop data or not fit."""

import sys

from plan.report import main

sys.exit(1 if any(summary["problems"] for summary in main()) else 0)
