"""`python -m emqx.codegen` writes emqx/models/apps_*.py; `--verify` fails if the committed files are stale."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from emqx.codegen.generate import check, write
from emqx.codegen.targets import PACKAGE_ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emqx.codegen", description=__doc__)
    parser.add_argument(
        "--verify",
        action="store_true",
        help="generate into a temporary directory and compare with the committed files; exit 1 if they differ",
    )
    parser.add_argument("--root", type=Path, default=PACKAGE_ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    if args.verify:
        return _verify(args.root)
    for path in write(args.root):
        print(f"wrote {path.relative_to(args.root)}")
    return 0


def _verify(root: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="emqx-codegen-") as scratch:
        write(Path(scratch))  # the generator runs end to end, as it would for a commit
        problems = check(root, generated_root=Path(scratch))
    if not problems:
        print("emqx/models is up to date with emqx/crds")
        return 0
    for difference in problems:
        sys.stdout.write(difference.summary())
    print(
        f"{len(problems)} generated file(s) differ from what the CRDs give; run `python -m emqx.codegen` and commit.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
