#!/usr/bin/env python3
"""Parse Bicep files with pycep-parser; exit non-zero if any file fails.

Why: no Bicep CLI can be installed on CI machines (no NuGet, no GitHub releases),
so the generated `.bicep` files get a syntax check from pycep-parser 0.7.1 (PyPI),
installed by `.ci/tools.sh` into its own venv (checkov pins an older pycep).
pycep checks syntax only: unclosed objects/arrays/strings, bad decorators and
loops, a resource type without `@apiVersion`. It knows no semantics, and rejects
the spread operator `...` and `.bicepparam` files.

Usage: pycep_check.py FILE...   (run with the pycep venv's python, or via the
`pycep-check` wrapper that tools.sh writes into the tools' bin/ directory)
Prints `ok FILE` or `FAIL FILE: reason` per file; exit 0 if all parse, 1 if any
fails, 2 on usage errors.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    lines = [line for line in text.splitlines() if line.strip()]
    # lark errors span several lines (position, expected tokens); keep them short.
    return f"{type(exc).__name__}: " + " | ".join(lines[:4])


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        from pycep import BicepParser
    except ImportError as exc:  # wrong interpreter
        print(f"pycep_check: cannot import pycep ({exc}); run .ci/tools.sh pycep", file=sys.stderr)
        return 2

    parser = BicepParser()
    failed = 0
    for name in argv:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            print(f"FAIL {name}: cannot read: {exc}")
            failed += 1
            continue
        if not text.strip():
            # pycep refuses empty input; an empty Bicep file is not what we generate.
            print(f"FAIL {name}: empty file")
            failed += 1
            continue
        try:
            parser.parse(text=text)
        except Exception as exc:  # noqa: BLE001 -- lark and pycep raise many kinds
            print(f"FAIL {name}: {_first_line(exc)}")
            failed += 1
        else:
            print(f"ok {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
