"""``kiosk-harness fleet``: many kiosks against one center, under a fault schedule, with verdicts.

Local (this process, real threads): ``kiosk-harness fleet --kiosks 8 --transactions 160 --faults default
--report R``. On Locust (one Locust user = one kiosk): ``--locust`` runs headless here; ``--master`` and
``--worker`` split it over processes and machines (docs/fleet.md). Exit 0 when every verdict holds, 1 when
one fails (the first lines say which and where), 2 for a usage or start-up error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The fleet's options on ``p``."""
    p.add_argument("--kiosks", type=int, default=4, help="virtual kiosks (default 4)")
    amount = p.add_mutually_exclusive_group()
    amount.add_argument("--transactions", type=int, help="transactions over the whole fleet")
    amount.add_argument("--duration", type=float, help="seconds during which transactions start")
    p.add_argument("--mix", default="default", help="scenario weights: a TOML file or a bundled name")
    p.add_argument("--faults", help="fault schedule: a TOML file or a bundled name (e.g. default)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--report", default="fleet-report", help="report and evidence directory")
    p.add_argument("--keep-pages", action="store_true", help="REPORT/printed/<kiosk>/<txn>/page-N.pdf")
    p.add_argument("--center", help="a running center's data directory (default: start a local one)")
    p.add_argument(
        "--processes",
        type=int,
        help="kiosk processes of a local run (default: one per core from 16 kiosks on, else 1)",
    )
    p.add_argument("--judge", action="store_true", help="no run: judge the evidence already in --report")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--locust", action="store_true", help="run on Locust, headless, in this process")
    where.add_argument("--master", action="store_true", help="Locust master (start the workers apart)")
    where.add_argument("--worker", action="store_true", help="Locust worker of --master-host")
    p.add_argument("--expect-workers", type=int, default=1, help="(--master) workers to wait for")
    p.add_argument("--master-host", default="127.0.0.1", help="the master's address (--master: bind to it)")
    p.add_argument("--master-port", type=int, default=5557, help="Locust master's port")


def run(args: argparse.Namespace) -> int:
    """Dispatch ``kiosk-harness fleet``; the exit status."""
    from harness.fleet.mix import Mix, MixError
    from harness.fleet.schedule import Schedule, ScheduleError

    if (
        args.kiosks < 1
        or (args.transactions is not None and args.transactions < 1)
        or (args.processes or 1) < 1
    ):
        print(
            "kiosk-harness fleet: --kiosks, --transactions and --processes must be positive", file=sys.stderr
        )
        return 2
    try:
        mix = Mix.load(Path(args.mix))
        schedule = Schedule.load(Path(args.faults)) if args.faults else Schedule.none()
    except (MixError, ScheduleError) as exc:
        print(f"kiosk-harness fleet: {exc}", file=sys.stderr)
        return 2
    report = Path(args.report).absolute()
    if args.judge:
        return _judge(report)
    report.mkdir(parents=True, exist_ok=True)
    _log_to(report / "fleet.log", args.verbose)
    if args.locust or args.master or args.worker:
        return _locust(args, report)
    from harness.fleet.run import HostArgs, default_processes, run_local
    from harness.fleet.verdicts import first_lines
    from harness.fleet.worker import FleetSettings

    transactions = args.transactions if args.transactions or args.duration else 10 * args.kiosks
    now = time.time()
    settings = FleetSettings(report, mix, schedule, args.seed, transactions, args.duration, now)
    center = Path(args.center) if args.center else None
    processes = args.processes or default_processes(args.kiosks)
    host_args = HostArgs(args.mix, args.faults or "")
    result = run_local(
        settings, args.kiosks, center, args.keep_pages, processes=processes, host_args=host_args
    )
    for line in first_lines(list(result.verdicts)):
        print(line)
    if not result.transactions:
        print("kiosk-harness fleet: no transaction ran (see fleet.log)", file=sys.stderr)
        return 1
    print(f"report: {report / 'summary.txt'}, {report / 'report.html'}, {report / 'transactions.csv'}")
    return 0 if result.ok else 1


def _judge(report: Path) -> int:
    """Verdicts and report again from the evidence in ``report`` (its ``center-ledger.sqlite`` a copy of the
    center's ledger, ``kiosks/`` gathered from every machine)."""
    from harness.fleet.evidence import collect
    from harness.fleet.report import write_report
    from harness.fleet.verdicts import first_lines, judge

    evidence = collect(report, report / "center-ledger.sqlite")
    verdicts = judge(evidence)
    write_report(report, evidence, verdicts, 0.0)
    print("\n".join(first_lines(verdicts)))
    return 0 if all(v.ok for v in verdicts) else 1


def _log_to(path: Path, verbose: bool) -> None:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    for other in root.handlers:
        if other is not handler:
            other.setLevel(logging.ERROR)  # the terminal shows the progress bar, the file the rest


def _locust(args: argparse.Namespace, report: Path) -> int:
    """Exec Locust on our locustfile in a fresh process (harness.fleet.locust_main patches it for gevent
    before anything loads; docs/fleet.md says how the kiosks' threads and gevent share it). Returns only
    when the exec fails (OSError)."""
    locustfile = Path(__file__).with_name("locustfile.py")
    argv = ["-f", str(locustfile), "--fleet-dir", str(report), "--fleet-seed", str(args.seed)]
    argv += ["--fleet-mix", args.mix, "--fleet-faults", args.faults or ""]
    if args.transactions:
        argv += ["--fleet-transactions", str(args.transactions)]
    if args.duration:
        argv += ["--fleet-duration", str(args.duration)]
    if args.keep_pages:
        argv.append("--fleet-keep-pages")
    if args.center:
        argv += ["--fleet-center", args.center]
    users = ["--users", str(args.kiosks), "--spawn-rate", str(max(args.kiosks, 1))]
    csv_out = ["--csv", str(report / "locust"), "--html", str(report / "locust.html")]
    if args.worker:
        argv += ["--worker", "--master-host", args.master_host, "--master-port", str(args.master_port)]
    elif args.master:
        master = [
            "--master",
            "--master-bind-host",
            args.master_host,
            "--master-bind-port",
            str(args.master_port),
        ]
        argv += [*master, "--headless", "--expect-workers", str(args.expect_workers), *users, *csv_out]
    else:
        argv += ["--headless", *users, *csv_out]
    if not args.verbose:
        argv += ["--loglevel", "WARNING"]
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "harness.fleet.locust_main", *argv])  # noqa: S606
