"""`python -m tools.devhost`: run the function app locally, as `func start` would."""

import argparse
import logging
import sys

from .errors import DevhostError
from .server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.devhost",
        description="Serve the function app's HTTP functions and fire its timers, like `func start`.",
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1); on a loopback address only requests "
                             "addressed to localhost, 127.0.0.1 or [::1] are served")
    parser.add_argument("--port", type=int, default=7071, help="port to listen on, 0 for any free one (default: 7071)")
    parser.add_argument("--app-dir", default=".", help="the function app's directory (default: .)")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(message)s")
    try:
        serve(arguments.app_dir, arguments.host, arguments.port)
    except DevhostError as error:
        logging.getLogger("devhost").error("devhost cannot start: %s", error)
        return 1
    except KeyboardInterrupt:  # stopped before or after waitress's loop, which handles it itself
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
