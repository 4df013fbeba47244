"""The fleet on Locust, distributed on this machine: one master and two worker processes; every kiosk is
a Locust user on real threads, its steps are Locust request events, and the master's verdicts cover the
kiosks of both workers."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]  # a whole fleet: about a minute here


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_master_and_two_workers_judge_every_kiosk(tmp_path: Path) -> None:
    report, port = tmp_path / "R", str(_free_port())
    fleet = [sys.executable, "-m", "harness", "fleet", "--report", str(report), "--master-port", port]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    master = subprocess.Popen(
        [*fleet, "--master", "--expect-workers", "2", "--kiosks", "4", "--transactions", "12", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    workers = [
        subprocess.Popen([*fleet, "--worker"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        for _ in range(2)
    ]
    try:
        out, _ = master.communicate(timeout=240)
        for worker in workers:
            assert worker.wait(timeout=60) == 0
    finally:
        for proc in (master, *workers):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert master.returncode == 0, out
    assert "ALL VERDICTS HOLD" in out
    rows = list(csv.DictReader((report / "transactions.csv").open(encoding="utf-8")))
    assert len(rows) == 12
    kiosks = sorted(p.name for p in (report / "kiosks").iterdir())
    assert kiosks == ["K001", "K002", "K003", "K004"]  # two users on each worker, one directory
    stats = {r["Name"]: r for r in csv.DictReader((report / "locust_stats.csv").open(encoding="utf-8"))}
    assert int(stats["transaction"]["Request Count"]) == 12
    assert {"card", "pin", "issue", "pay", "print"} <= set(stats)
    failures = list(csv.DictReader((report / "locust_failures.csv").open(encoding="utf-8")))
    failed = sum(1 for r in rows if r["outcome"] != "completed")
    assert sum(int(f["Occurrences"]) for f in failures if f["Name"] == "transaction") == failed
