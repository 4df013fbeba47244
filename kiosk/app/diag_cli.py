"""Staff diagnostics on the command line: ``kiosk diag``.

``kiosk diag --config FILE`` (or ``--journal PATH``: a journal directly, e.g. a simulated kiosk's work
dir) prints the open items staff must act on, the hoppers' stock and the recent transactions; devices are
probed only with ``--probe`` (it opens them, with recovery, as ``kiosk run`` does: not while the kiosk
runs: both refuse, naming the running kiosk, while it holds the journal, ``kiosk.app.instance``);
``--self-test`` (with --config) opens them the same way and runs the staff self-test (center health,
printer, cash unit self-check, a heartbeat), printing only its results. ``kiosk diag settle TXN
--amount N --staff ID`` journals that staff handed the money owed over by hand; ``kiosk diag check TXN
ITEM --staff ID`` closes a records item (M03, M04, a copy cut short). ``kiosk diag unlock --staff ID``
clears the staff passcode's count of wrong codes: a back-off or a lockout (S01) ends at once, in the
running kiosk too; who did it is journaled.
``kiosk diag passcode`` reads a new staff passcode twice (never echoed; from a pipe, two lines) and
prints the hash for ``[staff] passcode_hash``. No PIN and no personal data are shown: the journal holds
none. Times are shown in JST, labelled (``kiosk.staff.clock``). ``kiosk diag --export FILE`` writes a
support bundle (``kiosk.app.support``: configuration without keys, versions, devices, the report, the
recent logs from journalctl or ``--log-file PATH``; devices probed only with ``--probe``).

Exit status: 0 done, 1 a probed device or a self-test check FAILED, 2 configuration or journal problem,
3 refused.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.app.cash_cli import stock_lines
from kiosk.app.config import DEFAULT_CONFIG, ConfigError, KioskConfig, load_config
from kiosk.app.instance import InUse
from kiosk.journal.hopper_stock import hopper_slots
from kiosk.journal.store import Journal, JournalWriteError
from kiosk.staff.clock import staff_time
from kiosk.staff.diagnostics import (
    DeviceStatus,
    Diagnostics,
    OpenItem,
    SettleRefused,
    StaffRecordError,
    TxnSummary,
)
from kiosk.staff.passcode import PasscodeError, check_passcode_format, hash_passcode

if TYPE_CHECKING:  # the device stack loads only when a command opens the devices
    from kiosk.app.assemble import RealKiosk

__all__ = ["add_commands", "report_lines"]

EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_REFUSED = 3


class DiagError(Exception):
    """A configuration or journal problem (exit status 2)."""


class Busy(Exception):
    """Another process (the running kiosk) holds the journal the command would open devices for (exit
    status 3); ``str()`` names it."""


def _source(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default: Any = argparse.SUPPRESS if suppress else None  # a sub-command must not reset the parent's
    parser.add_argument("--config", type=Path, default=default, help="the kiosk's kiosk.toml")
    parser.add_argument("--journal", type=Path, default=default, help="a journal file (instead of --config)")


def add_commands(subparsers: Any) -> None:
    """Add ``diag`` (with ``settle``, ``check``, ``passcode``, ``unlock``) to ``subparsers``; each sets
    ``func(args) -> int``. Never raises."""
    diag = subparsers.add_parser("diag", help="staff: open items, hopper stock, recent transactions")
    _source(diag, suppress=False)
    diag.add_argument("--probe", action="store_true", help="open the devices and report them (--config)")
    diag.add_argument("--self-test", action="store_true", help="open the devices and self-test (--config)")
    diag.add_argument("--limit", type=int, default=20, help="recent transactions shown (default 20)")
    diag.add_argument("--export", type=Path, help="write a support bundle (.tar.gz, no personal data) here")
    diag.add_argument("--log-file", type=Path, help="--export: the kiosk's log file (default: journalctl)")
    diag.set_defaults(func=run_report)
    sub = diag.add_subparsers(dest="diag_command")
    settle = sub.add_parser("settle", help="journal money owed that staff handed over by hand")
    settle.add_argument("txn", help="the transaction id (from kiosk diag)")
    settle.add_argument("--amount", type=int, required=True, help="yen handed over: exactly what is owed")
    settle.add_argument("--staff", required=True, help="your staff id")
    check = sub.add_parser("check", help="journal that staff dealt with a records item (M03, M04, print)")
    check.add_argument("txn", help="the transaction id")
    check.add_argument("item", help="the item, as kiosk diag lists it (e.g. discrepancy:refund)")
    check.add_argument("--staff", required=True, help="your staff id")
    for parser in (settle, check):
        _source(parser, suppress=True)
    settle.set_defaults(func=run_settle)
    check.set_defaults(func=run_check)
    passcode = sub.add_parser("passcode", help="read a new staff passcode twice, print its hash")
    passcode.set_defaults(func=run_passcode)
    unlock = sub.add_parser("unlock", help="end a staff passcode back-off or lockout (S01)")
    unlock.add_argument("--staff", required=True, help="your staff id")
    _source(unlock, suppress=True)
    unlock.set_defaults(func=run_unlock)


def _open(args: argparse.Namespace) -> tuple[Diagnostics, KioskConfig | None]:
    """The journal named by --journal or --config. Raises DiagError."""
    if getattr(args, "journal", None) and getattr(args, "config", None):
        raise DiagError("give --config FILE or --journal PATH, not both")
    try:
        if getattr(args, "journal", None):
            path = Path(args.journal)
            if not path.is_file():
                raise DiagError(f"no journal at {path}")
            return Diagnostics(Journal(path)), None
        config = load_config(getattr(args, "config", None) or DEFAULT_CONFIG, check_certificates=False)
        return Diagnostics(Journal(config.journal), hoppers=hopper_slots(config.cash_hoppers)), config
    except (ConfigError, JournalWriteError) as exc:
        raise DiagError(str(exc)) from exc


def _fail(exc: Exception, *, refused: bool = False) -> int:
    """Print ``exc`` as the one line staff see; returns the exit status (3 refused, else 2)."""
    print(f"kiosk: {'refused: ' if refused else ''}{exc}", file=sys.stderr)
    return EXIT_REFUSED if refused else EXIT_ERROR


Work = Callable[[Diagnostics, KioskConfig | None], tuple[int, str]]


def _on_journal(
    args: argparse.Namespace,
    work: Work,
    *,
    errors: tuple[type[Exception], ...],
    refusals: tuple[type[Exception], ...],
) -> int:
    """Open the journal ``args`` name, run ``work`` on it and close it; ``work`` returns (exit status, what
    to print), printed once the journal is closed. A journal that does not open and ``errors`` are one
    line, status 2; ``refusals`` one line, status 3. Returns the exit status."""
    try:
        diag, config = _open(args)
    except DiagError as exc:
        return _fail(exc)
    try:
        status, text = work(diag, config)
    except refusals as exc:
        return _fail(exc, refused=True)
    except errors as exc:
        return _fail(exc)
    finally:
        diag.journal.close()
    print(text)
    return status


def _yen(n: int) -> str:
    return f"{n:,}"


def item_line(item: OpenItem) -> str:
    """One open item as the CLI shows it (ids, codes and yen only). Never raises."""
    what = {
        "owed": f"owed {_yen(item.yen)} yen: hand it over, then kiosk diag settle {item.txn_id}"
        f" --amount {item.yen} --staff ID",
        "discrepancy": f"center says {_yen(item.yen)} yen, kiosk {_yen(item.other)} yen: ask the center",
        "id_conflict": "a cash event id was journaled for another transaction: check the cash box",
        "partial_print": f"a copy stopped at page {item.yen}/{item.other}: take it from the tray"
        if item.yen
        else f"a copy of {item.other} page(s) the printer did not confirm: check the tray",
        "disk_full": "the journal ran out of space: no new resident until space is freed and the kiosk"
        " restarted",
        "tail_lost": "a power cut may have cost this transaction's last journaled step: check its cash and"
        " the tray",
    }.get(item.kind, item.kind)
    return f"  {staff_time(item.at)}  {item.txn_id}  {item.staff_code or '-':<8} {item.item}: {what}"


def txn_line(t: TxnSummary) -> str:
    """One recent transaction. Never raises."""
    b = t.books
    money = f"{b.inserted:>6} {b.change:>6} {b.refunded:>6} {b.owed:>6} {b.settled:>6}"
    mark = "" if b.balanced else "  BOOKS DO NOT BALANCE"
    head = f"  {staff_time(t.at)}  {t.txn_id}  {t.cert_type or '-':<13} {t.copies:>2} {t.fee:>6} {money}"
    return f"{head}  {t.outcome} {t.staff_code}{mark}"


def status_line(d: DeviceStatus) -> str:
    """One device or self-test check. Never raises."""
    return f"  {d.device}: {'ok' if d.ok else 'FAILED'}: {d.detail}"


def report_lines(diag: Diagnostics, devices: Sequence[DeviceStatus] | None, limit: int = 20) -> list[str]:
    """The ``kiosk diag`` report. Raises sqlite3.Error if the journal cannot be read."""
    out = [f"journal {diag.journal.path}", "DEVICES"]
    if devices is None:
        out.append("  not probed (kiosk diag --config FILE --probe opens them; not while the kiosk runs)")
    out += [status_line(d) for d in devices or ()]
    items = diag.open_items()
    out.append(f"OPEN ITEMS ({len(items)})")
    out += [item_line(i) for i in items] or ["  none"]
    out.append("HOPPERS")
    out += ["  " + line for line in stock_lines(diag.hopper_stock())]
    out.append("RECENT TRANSACTIONS (newest first)")
    out.append(
        "  time (JST)            txn  type  copies fee  inserted change refunded owed settled  outcome"
    )
    out += [txn_line(t) for t in diag.recent(limit)] or ["  none"]
    return out


def _with_devices(
    config: KioskConfig | None, flag: str, missing: str, use: Callable[[RealKiosk], list[DeviceStatus]]
) -> list[DeviceStatus]:
    """Open the devices ``config`` names as ``kiosk run`` does (kiosk.app.assemble.RealKiosk) and return
    ``use(kiosk)``, or the failed start-up checks when they do not open. Raises DiagError (``missing`` when
    there is no --config, a bad configuration), Busy (the kiosk is running: it holds the journal; ``flag``
    names the option), and what ``use`` raises."""
    if config is None or config.source is None:
        raise DiagError(missing)
    from kiosk.app.assemble import RealKiosk, StartupError  # the device stack loads only here

    try:
        with RealKiosk(load_config(config.source)) as kiosk:
            return use(kiosk)
    except StartupError as exc:
        return [DeviceStatus(c.device, c.ok, c.detail) for c in exc.failed]
    except InUse as exc:
        raise Busy(f"{exc}; {flag} opens the devices: not while the kiosk runs") from exc
    except (ConfigError, JournalWriteError, OSError) as exc:
        raise DiagError(str(exc)) from exc


def _probe(config: KioskConfig | None) -> list[DeviceStatus]:
    """The start-up checks of ``kiosk run``. Raises DiagError, Busy (the kiosk is running)."""
    return _with_devices(
        config,
        "--probe",
        "--probe needs --config FILE (the devices it names)",
        lambda kiosk: [DeviceStatus(c.device, c.ok, c.detail) for c in kiosk.report.checks],
    )


def _self_test(config: KioskConfig | None) -> list[DeviceStatus]:
    """Open the devices as ``kiosk run`` does and run the staff self-test. Raises DiagError (no --config,
    a bad configuration), SettleRefused (a transaction is still open), Busy (the kiosk is running)."""
    from kiosk.staff.diagnostics import live_diagnostics

    return _with_devices(
        config,
        "--self-test",
        "--self-test needs --config FILE (it opens the devices it names; a journal has none)",
        lambda kiosk: live_diagnostics(kiosk, extra=kiosk.report.checks).self_test(),
    )


def run_self_test(args: argparse.Namespace) -> int:
    """``kiosk diag --self-test``: print each check. Returns 0 (all ok), 1 (a check failed), 2 (no --config,
    a configuration problem), 3 (refused: a transaction is open)."""
    try:
        if getattr(args, "journal", None):
            raise DiagError("--self-test needs --config FILE (it opens the devices; --journal has none)")
        diag, config = _open(args)
        diag.journal.close()
        lines = _self_test(config)
    except DiagError as exc:
        return _fail(exc)
    except (SettleRefused, Busy) as exc:
        return _fail(exc, refused=True)
    print("SELF-TEST")
    print("\n".join(status_line(d) for d in lines))
    return 0 if lines and all(d.ok for d in lines) else EXIT_FAILED


def run_report(args: argparse.Namespace) -> int:
    """``kiosk diag``: print the report. Returns the exit status: 0, 1 (``--probe``: a device FAILED), 2
    (configuration/journal problem), 3 (refused)."""
    if args.limit < 0:
        print("kiosk: --limit must be 0 or more", file=sys.stderr)
        return EXIT_ERROR
    if args.self_test:
        return run_self_test(args)
    if getattr(args, "export", None):
        return run_export(args)

    def report(diag: Diagnostics, config: KioskConfig | None) -> tuple[int, str]:
        devices = _probe(config) if args.probe else None
        failed = devices is not None and not all(d.ok for d in devices)
        return EXIT_FAILED if failed else 0, "\n".join(report_lines(diag, devices, args.limit))

    return _on_journal(args, report, errors=(DiagError,), refusals=(Busy,))


def run_export(args: argparse.Namespace) -> int:
    """``kiosk diag --export FILE``: write the support bundle. Returns 0, 2 (configuration, journal or the
    file cannot be written) or 3 (``--probe`` refused: the kiosk runs)."""
    from kiosk.app.support import journal_logs, write_bundle

    def export(diag: Diagnostics, config: KioskConfig | None) -> tuple[int, str]:
        probed = _probe(config) if args.probe else None
        report = report_lines(diag, None, args.limit)
        logs = journal_logs(getattr(args, "log_file", None))
        faults = [
            f"{t.txn_id} {kind} {device}: {detail}"
            for t in diag.recent(args.limit)
            for kind, device, detail in diag.journal.faults(t.txn_id)
        ]
        path = write_bundle(
            Path(args.export), config=config, report=report, probed=probed, logs=logs, faults=faults
        )
        return 0, f"support bundle {path} (logs: {logs[0]})"

    return _on_journal(args, export, errors=(DiagError, OSError), refusals=(Busy,))


def _close(args: argparse.Namespace, money: bool) -> int:
    def close(diag: Diagnostics, _config: KioskConfig | None) -> tuple[int, str]:
        if money:
            done = diag.settle(args.txn, amount=args.amount, staff_id=args.staff)
        else:
            done = diag.check(args.txn, args.item, staff_id=args.staff)
        at = staff_time(done.at)
        return 0, f"{done.txn_id} {done.item}: {done.kind} by {done.staff_id} at {at} ({done.yen} yen)"

    return _on_journal(args, close, errors=(JournalWriteError,), refusals=(SettleRefused,))


def run_settle(args: argparse.Namespace) -> int:
    """``kiosk diag settle``: journal money handed over. Returns 0, 2 (journal problem) or 3 (refused)."""
    return _close(args, money=True)


def run_check(args: argparse.Namespace) -> int:
    """``kiosk diag check``: close a records item. Returns 0, 2 (journal problem) or 3 (refused)."""
    return _close(args, money=False)


def run_unlock(args: argparse.Namespace) -> int:
    """``kiosk diag unlock``: clear the staff passcode's count of wrong codes. Returns 0 (cleared, or
    nothing to clear), 2 (journal problem) or 3 (refused: a bad staff id)."""

    def unlock(diag: Diagnostics, _config: KioskConfig | None) -> tuple[int, str]:
        cleared = diag.unlock_passcode(staff_id=args.staff)
        if not cleared:
            return 0, "staff passcode: not locked (no wrong codes counted); nothing to unlock"
        return 0, f"staff passcode unlocked by {args.staff}: {cleared} wrong code(s) in a row cleared"

    return _on_journal(args, unlock, errors=(JournalWriteError, StaffRecordError), refusals=(SettleRefused,))


def _read_secret(prompt: str) -> str:
    """One line: from the terminal without echo, or from stdin when it is a pipe or a file (no prompt, no
    warning: nothing is echoed there). Raises EOFError at the end of the input."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\r\n")


def run_passcode(args: argparse.Namespace) -> int:
    """``kiosk diag passcode``: read a passcode twice (from the terminal, or two lines of a pipe), print its
    hash. Returns 0, or 2 (not the same twice, not 4-8 digits, nothing to read). The passcode is never
    printed."""
    try:
        first = _read_secret("new staff passcode (4-8 digits): ")
        check_passcode_format(first)
        if _read_secret("again: ") != first:
            raise PasscodeError("the two entries differ")
    except (PasscodeError, EOFError) as exc:
        print(f"kiosk: {str(exc) or 'no passcode read'}", file=sys.stderr)
        return EXIT_ERROR
    print("[staff]")
    print(f'passcode_hash = "{hash_passcode(first)}"')
    return 0
