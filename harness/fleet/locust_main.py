"""``python -m harness.fleet.locust_main LOCUST-ARGS``: Locust's command line in a fresh process (Locust
patches it for gevent as it loads, before anything else is imported: ``kiosk-harness fleet --locust|
--master|--worker`` execs this), then the fleet's verdict lines again, after Locust's own tables."""

import sys
from pathlib import Path

from locust.main import main as locust_main  # first: Locust monkey-patches the process as it loads


def main() -> int:
    """Run Locust on ``sys.argv[1:]``; print the verdicts of ``--fleet-dir`` (master or local run)."""
    argv = sys.argv[1:]
    sys.argv = ["locust", *argv]
    try:
        locust_main()  # type: ignore[no-untyped-call]
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 2
    summary = Path(argv[argv.index("--fleet-dir") + 1]) / "summary.txt" if "--fleet-dir" in argv else None
    if "--worker" not in argv and summary is not None and summary.exists():
        print(summary.read_text(encoding="utf-8").split("\n\n")[0])
    return status


if __name__ == "__main__":
    sys.exit(main())
