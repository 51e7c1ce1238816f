"""`python -m authenticator otp ...`: the same command group as `sleutel otp ...`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from authenticator.cli import add_subparsers, run
from authenticator.clock import Clock


def main(argv: Sequence[str] | None = None, clock: Clock | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m authenticator")
    add_subparsers(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    return run(args, clock=clock)


if __name__ == "__main__":
    raise SystemExit(main())
