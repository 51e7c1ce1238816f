"""Run the e-loket: `python -m identity_server.demo_rp [--host H] [--port P]`.

Configuration comes from the environment (see `DemoRpSettings.from_env`): DEMO_RP_ISSUER,
DEMO_RP_CLIENT_ID, DEMO_RP_CLIENT_SECRET, DEMO_RP_BASE_URL and optionally DEMO_RP_HTTP_TIMEOUT;
FAS with DEMO_RP_FAS_ISSUER, _CLIENT_ID, _CLIENT_SECRET; itsme with DEMO_RP_ITSME_ISSUER,
_CLIENT_ID, _KEYS (a private JWK set file).
"""

from __future__ import annotations

import argparse
import logging
import sys

from aiohttp import web

from identity_server.demo_rp.access_log import PathOnlyAccessLogger
from identity_server.demo_rp.app import create_demo_rp
from identity_server.demo_rp.settings import DemoRpSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m identity_server.demo_rp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    try:
        settings = DemoRpSettings.from_env()
    except ValueError as exc:
        print(f"e-loket: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    web.run_app(
        create_demo_rp(settings),
        host=args.host,
        port=args.port,
        access_log_class=PathOnlyAccessLogger,
        print=None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
