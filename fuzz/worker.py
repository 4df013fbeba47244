"""One target under atheris/libFuzzer: ``python -m fuzz.worker TARGET [libFuzzer flags and corpus folders]``.

Started by ``python -m fuzz`` in a process of its own (libFuzzer exits the process on a finding). The
product's packages are instrumented for coverage as the target's module imports them.
"""

from __future__ import annotations

import logging
import sys

import atheris

# The project's packages, and the pure-Python libraries whose branches are the parsers' too.
INSTRUMENTED = ["reader", "relay_client", "kiosk", "firmware_sim", "mock_relay", "harness", "fuzz"]
INSTRUMENTED += ["tomllib", "jsonschema"]


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: python -m fuzz.worker TARGET [libFuzzer flags] [corpus folders]")
    logging.basicConfig(level=logging.CRITICAL)  # the product's warnings are answers, not output
    with atheris.instrument_imports(include=INSTRUMENTED):
        from fuzz.targets import target

        chosen = target(argv[1])
    chosen.setup()
    atheris.Setup([argv[0], *argv[2:]], chosen.one)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
