"""How every command line of the project ends when something is wrong.

A problem the user can fix (a missing file, invalid tables, a bad argument) is a `UserError`:
`run_cli` prints its message and exits with status 2, as argparse does for a bad option. Any
other exception is a bug and keeps its traceback. Each CLI module ends with

    if __name__ == "__main__":
        run_cli(main)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable


class UserError(ValueError):
    """Bad input or arguments, worded so the user can fix them without reading code.

    A ValueError, so that library callers catching bad values keep working."""


def run_cli(main: Callable[[], object]) -> None:
    """Call a CLI's main(); a UserError becomes its message on stderr and exit status 2."""
    try:
        main()
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def materialise_cli(description: str, default_dir: Path, materialise: Callable[[Path], Path]) -> None:
    """`python -m MODULE [--out DIR]` for a module that writes a bundled model or tokenizer to a folder."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=default_dir)
    run_cli(lambda: print(materialise(parser.parse_args().out)))
