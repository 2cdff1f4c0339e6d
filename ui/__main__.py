"""Serve the review app, or some of its tabs, for a look: ``python -m ui DB [--tabs calls,queues]``.

Log in as with ``qa serve`` (users: ``qa users``). Unlike ``qa serve`` it creates no first admin:
point it at a store that has users. The queues tab opens calls in the calls tab, so choose both.

Usage::

    python -m ui var/demo.db                              # every tab
    python -m ui var/demo.db --tabs complaints --port 7861
    python -m ui var/demo.db --tabs calls,queues --config samples/demo.toml
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from qa.config import ConfigError, load_config
from ui.app import TABS, serve


def _tabs(text: str) -> list[str]:
    chosen = [key.strip() for key in text.split(",") if key.strip()]
    unknown = [key for key in chosen if key not in TABS]
    if not chosen or unknown:
        raise argparse.ArgumentTypeError(
            f"choose tabs from {', '.join(TABS)} (comma-separated), not {text!r}"
        )
    return chosen


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ui", description=__doc__.split("\n")[0])
    parser.add_argument("db", type=Path, help="the results store (from qa run)")
    parser.add_argument("--tabs", type=_tabs, help=f"comma-separated, from: {','.join(TABS)}")
    parser.add_argument("--config", type=Path, help="the site's TOML config, as for qa serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args(argv)
    if not args.db.is_file():
        parser.error(f"no store at {args.db}")
    try:
        config = load_config(args.config)
    except ConfigError as error:
        parser.error(str(error))
    if args.tabs and "queues" in args.tabs and "calls" not in args.tabs:
        parser.error("the queues tab opens calls in the calls tab: choose both")
    print(f"Review UI: http://{args.host}:{args.port}  (Ctrl+C to stop)", file=sys.stderr)
    serve(args.db, host=args.host, port=args.port, tabs=args.tabs, config=config)


if __name__ == "__main__":
    main()
