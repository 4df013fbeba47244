"""The fleet report: ``summary.txt`` (verdicts first, then throughput and per-step latency percentiles),
``transactions.csv`` (one row per transaction, from the journals) and ``report.html`` (matplotlib plots
embedded as PNG: transactions/s over time with the center's fault windows shaded, latency percentiles per
step, the outcome mix)."""

from __future__ import annotations

import base64
import csv
import html
import io
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from harness.fleet.evidence import Evidence, Txn
from harness.fleet.verdicts import Verdict, first_lines

COLUMNS = (
    "kiosk",
    "transaction_id",
    "resident_id",
    "resident_name",
    "scenario",
    "cert_type",
    "outcome",
    "reason",
    "staff_code",
    "fee",
    "inserted",
    "change",
    "refunded",
    "owed",
    "pages_printed",
    "pages_expected",
    "started",
    "ended",
)
STEP_ORDER: tuple[str, ...] = (
    "start",
    "route",
    "card",
    "wrong_pin",
    "pin",
    "remove_card",
    "choose",
    "options",
    "copies",
)
STEP_ORDER += ("issue", "pay", "print", "cancel", "transaction")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def step_seconds(transactions: list[Txn]) -> dict[str, list[float]]:
    """Seconds per step name, over every transaction."""
    out: dict[str, list[float]] = defaultdict(list)
    for t in transactions:
        for name, seconds, *_ in t.steps:
            out[str(name)].append(float(seconds))
    return out


def write_report(out: Path, ev: Evidence, verdicts: list[Verdict], seconds: float) -> None:
    """Write the three files into ``out``. Raises OSError."""
    summary = summary_lines(ev, verdicts, seconds)
    (out / "summary.txt").write_text("\n".join(summary) + "\n", encoding="utf-8")
    with (out / "transactions.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for t in ev.transactions:
            writer.writerow([getattr(t, c) for c in COLUMNS])
    (out / "report.html").write_text(_html(ev, summary), encoding="utf-8")


def summary_lines(ev: Evidence, verdicts: list[Verdict], seconds: float) -> list[str]:
    """Verdicts first, then the figures."""
    txns = ev.transactions
    if not seconds and txns:  # judged afterwards: the span of the journals
        seconds = max(_epoch(t.ended) for t in txns) - min(_epoch(t.started) for t in txns)
    done = sum(1 for t in txns if t.outcome == "completed")
    lines = [*first_lines(verdicts), ""]
    lines.append(
        f"{len(txns)} transactions from {len(ev.kiosks)} kiosks in {seconds:.1f} s: "
        f"{len(txns) / max(seconds, 1e-9):.2f} tx/s; {done} completed ({done / max(seconds, 1e-9):.2f}/s), "
        f"{sum(j.sheets_out for j in ev.jobs)} sheets printed"
    )
    recovered = sum(len(k.get("recovered", [])) for k in ev.kiosks.values())
    if recovered:
        lines.append(
            f"{recovered} transaction(s) finished by the kiosks' closing-time recovery (recovered.json)"
        )
    stuck = [t for t in txns if t.stuck]
    if stuck:
        lines.append(f"{len(stuck)} transaction(s) where the resident found the kiosk stuck")
    for kiosk, info in sorted(ev.kiosks.items()):
        if info.get("closed") not in ("ok", ""):
            lines.append(f"kiosk {kiosk}: {info.get('closed')}")
    lines.append("")
    lines.append(
        "outcomes: " + ", ".join(f"{k} {n}" for k, n in Counter(_label(t) for t in txns).most_common())
    )
    lines.append(f"center fault windows: {len(ev.fault_windows)}")
    lines.append("")
    lines.append(f"{'step':<14}{'n':>7}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    steps = step_seconds(txns)
    for name in sorted(steps, key=lambda n: STEP_ORDER.index(n) if n in STEP_ORDER else 99):
        v = steps[name]
        lines.append(
            f"{name:<14}{len(v):>7}{percentile(v, 0.5) * 1000:>10.1f}{percentile(v, 0.9) * 1000:>10.1f}"
            f"{percentile(v, 0.99) * 1000:>10.1f}{max(v) * 1000:>10.1f}"
        )
    return lines


def _label(t: Txn) -> str:
    return "completed" if t.outcome == "completed" else f"{t.reason or t.outcome} ({t.staff_code or '-'})"


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def _throughput(ev: Evidence) -> str:
    ends = sorted(_epoch(t.ended) for t in ev.transactions if t.ended)
    fig, ax = plt.subplots(figsize=(9, 3.2))
    if ends:
        t0 = min(_epoch(t.started) for t in ev.transactions)
        buckets = Counter(int(e - t0) for e in ends)
        xs = list(range(max(buckets) + 1))
        ax.plot(xs, [buckets.get(x, 0) for x in xs], linewidth=1)
        for w in ev.fault_windows:
            ax.axvspan(w["start"] - t0, w["end"] - t0, color="tab:red", alpha=0.15)
            ax.text(w["start"] - t0, ax.get_ylim()[1] * 0.9, w["label"], fontsize=6, rotation=90, va="top")
    ax.set_xlabel("seconds into the run (red: center fault windows)")
    ax.set_ylabel("transactions ended / s")
    return _png(fig)


def _latency(ev: Evidence) -> str:
    steps = step_seconds(ev.transactions)
    names = [n for n in STEP_ORDER if n in steps]
    fig, ax = plt.subplots(figsize=(9, 3.2))
    for q, style in ((0.5, "o-"), (0.9, "s--"), (0.99, "^:")):
        ax.plot(names, [percentile(steps[n], q) * 1000 for n in names], style, label=f"p{int(q * 100)}")
    ax.set_yscale("log")
    ax.set_ylabel("ms")
    ax.legend()
    ax.tick_params(axis="x", rotation=30)
    return _png(fig)


def _outcomes(ev: Evidence) -> str:
    counts = Counter(_label(t) for t in ev.transactions).most_common()
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(counts) + 1))
    ax.barh([c[0] for c in counts], [c[1] for c in counts])
    ax.invert_yaxis()
    ax.set_xlabel("transactions")
    return _png(fig)


def _html(ev: Evidence, summary: list[str]) -> str:
    plots = [
        ("Transactions per second", _throughput(ev)),
        ("Latency per step", _latency(ev)),
        ("Outcomes", _outcomes(ev)),
    ]
    body = "".join(
        f'<h2>{title}</h2><img alt="{title}" src="data:image/png;base64,{png}">' for title, png in plots
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fleet report</title></head><body>'
        f"<h1>Fleet report</h1><pre>{html.escape(chr(10).join(summary))}</pre>{body}"
        '<p>One row per transaction: <a href="transactions.csv">transactions.csv</a></p></body></html>'
    )
