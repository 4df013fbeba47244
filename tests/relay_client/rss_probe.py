"""Peak-RSS probe, run as its own process: one health call against a bomb from a hostile center.

    python rss_probe.py PKI_DIR {gzip_bomb|large} BYTES

Prints JSON: the peak RSS before and after the call (kB, from getrusage), their difference, and the error
the call raised as ``Class:code``. A process of its own, so the peak is this call's and no other test's.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
from pathlib import Path

from hostile_center import Exchange, HostileCenter, answer, gzip_bomb, head, zeros

from relay_client import IssuanceClient, RetryPolicy, Timeouts


def main(argv: list[str]) -> None:
    root, scenario, size = Path(argv[0]), argv[1], int(argv[2])
    center = HostileCenter(root)
    if scenario == "gzip_bomb":
        bomb = gzip_bomb(size)  # about size/1000 bytes on the wire
        center.routes[("GET", "/v1/health")] = lambda ex: ex.send(
            answer(bomb, headers={"Content-Encoding": "gzip"})
        )
    else:

        def large(ex: Exchange) -> None:
            ex.stream([head(200, {"Connection": "close"}), *zeros(size)])

        center.routes[("GET", "/v1/health")] = large
    client = IssuanceClient(
        center.url,
        root / "terminal.pem",
        root / "terminal.key",
        root / "center-ca.pem",
        retry=RetryPolicy(attempts=1, deadline=60.0),
        timeouts=Timeouts(connect=5.0, read=30.0),
    )
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    error = ""
    try:
        client.health()
    except Exception as exc:  # the probe reports whatever the call raised
        error = f"{type(exc).__name__}:{getattr(exc, 'code', '')}"
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    client.close()
    center.close()
    print(json.dumps({"before_kb": before, "after_kb": after, "growth_kb": after - before, "error": error}))


if __name__ == "__main__":
    main(sys.argv[1:])
