"""Staff mode (the store clerk's diagnostics) over the shell: entered from the attract screen, or from the
call-staff screen a resident was left on, by holding the header title for 3 s, then a staff passcode on a
keypad. Shows the devices, the open items with a "settled by hand" / "checked" action (staff number +
confirm, journaled by ``kiosk.staff.diagnostics``), the hoppers' stock and the recent transactions; 終了
returns to the screen it was entered from. Entered from the call-staff screen, the board starts with that
call (its code, the money owed) and 呼出し画面を終了, which ends the call-staff screen (the kiosk takes the
next resident; what is owed stays an open item until it is settled).

The passcode follows the PIN screen's rules: the digits live in a private list, never in a widget's text
(only ``*`` per digit is shown); they are checked against the salted hash once on 確定 and cleared then,
and whenever the screen is left; they are never logged. Staff text comes from the ``staff`` gettext domain
(Japanese and English only).
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import datetime
from typing import Any

from kivy.clock import Clock
from kivy.factory import Factory
from kivy.metrics import dp
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.staff.clock import staff_time
from kiosk.staff.diagnostics import (
    DeviceStatus,
    OpenItem,
    SettleRefused,
    StaffAccess,
    StaffRecordError,
    TxnSummary,
)
from kiosk.staff.passcode import PasscodeGuard, PasscodeLocked
from kiosk.ui.bridge import UiState
from kiosk.ui.catalogs import STAFF_DOMAIN
from kiosk.ui.i18n import Translator
from kiosk.ui.widgets import KButton, KioskScreen, load_kv

log = logging.getLogger(__name__)

HOLD_SECONDS = 3.0  # the long press on the header title
MAX_TRIES = 3  # wrong passcodes before staff mode closes
MAX_PASSCODE, MAX_STAFF_ID = 8, 12
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "ok")


def _when(at: datetime) -> str:
    return staff_time(at, "%m-%d %H:%M")  # one zone for staff, labelled: JST


def item_text(st: Translator, item: OpenItem) -> str:
    """One open item in the staff language. Never raises."""
    return st(
        f"staff_item_{item.kind}",
        time=_when(item.at),
        txn=item.txn_id,
        code=item.staff_code or "-",
        yen=f"{item.yen:,}",
        other=f"{item.other:,}",
    )


def txn_text(st: Translator, t: TxnSummary) -> str:
    """One recent transaction in the staff language. Never raises."""
    b = t.books
    money = {"inserted": b.inserted, "change": b.change, "refunded": b.refunded, "owed": b.owed}
    kind = Translator(st.language)(f"cert_{t.cert_type}") if t.cert_type else "-"  # the residents' word
    return st(
        "staff_txn_line",
        time=_when(t.at),
        txn=t.txn_id,
        type=kind or t.cert_type,
        copies=t.copies,
        fee=t.fee,
        settled=b.settled,
        code=t.staff_code or t.outcome,
        **money,
    )


_DEVICE_NAMES = ("reader", "center", "printer", "coin acceptor", "bill validator", "heartbeat", "cash")
_HOPPER = re.compile(r"hopper (\d+) yen")


def device_name(st: Translator, device: str) -> str:
    """A device as staff call it in their language (a name the drivers do not use stays as it is)."""
    hopper = _HOPPER.fullmatch(device)
    if hopper:
        return st("staff_device_hopper", yen=hopper[1])
    if device in _DEVICE_NAMES:
        return st("staff_device_" + device.replace(" ", "_")) or device
    return device


def device_text(st: Translator, d: DeviceStatus) -> str:
    """One device's status line in the staff's language: a working device says so and nothing more (the
    drivers' own notes are English); a failing one adds the driver's note, which is what staff act on.
    Never raises."""
    name = device_name(st, d.device)
    if d.ok:
        return st("staff_device_ok", device=name)
    return st("staff_device_failed", device=name, detail=d.detail)


class LongPress:
    """Calls ``on_hold`` when ``widget`` is held for ``seconds`` (released earlier: nothing)."""

    def __init__(self, widget: Any, on_hold: Any, seconds: float = HOLD_SECONDS) -> None:
        self.seconds, self.on_hold = seconds, on_hold
        self._event: Any = None
        widget.bind(on_touch_down=self._down, on_touch_up=self._up)

    def _down(self, widget: Any, touch: Any) -> bool:
        if widget.collide_point(*touch.pos):
            self.cancel()
            self._event = Clock.schedule_once(lambda _dt: self.on_hold(), self.seconds)
        return False

    def _up(self, _widget: Any, _touch: Any) -> bool:
        self.cancel()
        return False

    def cancel(self) -> None:
        """Forget a press in progress."""
        if self._event is not None:
            self._event.cancel()
            self._event = None


class StaffScreen(KioskScreen):
    """The staff pages (passcode, board, settle) as one screen of the shell's manager."""

    title_text = StringProperty("")
    prompt_text = StringProperty("")
    dots_text = StringProperty("")
    passcode_message = StringProperty("")
    exit_text = StringProperty("")
    language_text = StringProperty("")
    refresh_text = StringProperty("")
    self_test_text = StringProperty("")
    board_message = StringProperty("")
    settle_title = StringProperty("")
    item_text = StringProperty("")
    staff_prompt = StringProperty("")
    staff_id_text = StringProperty("")
    settle_message = StringProperty("")
    back_text = StringProperty("")
    confirm_text = StringProperty("")

    def __init__(self, shell: Any, access: StaffAccess, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self.access = access
        verifier = access.verifier
        journal = access.diagnostics.journal
        # attempts are limited across entries: one guard for the life of the screen (or the one given)
        self.guard = (
            verifier if isinstance(verifier, PasscodeGuard) else PasscodeGuard(verifier, journal=journal)
        )
        self.st = Translator("ja", domain=STAFF_DOMAIN)
        self._digits: list[str] = []
        self._staff_id: list[str] = []
        self._tries = 0
        self._item: OpenItem | None = None
        self.item_buttons: dict[tuple[str, str], KButton] = {}
        self.clear_call_button: KButton | None = None  # on the board while the resident's screen calls staff
        self.passcode_keys = self._keypad(self.ids.passcode_keys, self.press_passcode)
        self.staff_keys = self._keypad(self.ids.staff_keys, self.press_staff)
        self._texts()

    def _keypad(self, grid: Any, press: Any) -> dict[str, KButton]:
        keys: dict[str, KButton] = {}
        for label in KEYS:
            key = Factory.SSecondary() if label == "clear" else Factory.SButton()
            key.size_hint_y = 1
            key.bind(on_release=lambda _b, k=label: press(k))
            grid.add_widget(key)
            keys[label] = key
        for digit in "0123456789":
            keys[digit].text = digit  # the key's own face, not what was typed
        return keys

    def _texts(self) -> None:
        st = self.st
        self.title_text, self.prompt_text = st("staff_title"), st("staff_passcode_prompt")
        self.exit_text, self.language_text = st("staff_exit"), st("staff_other_language")
        self.refresh_text, self.back_text = st("staff_refresh"), st("staff_back")
        self.self_test_text = st("staff_self_test")
        self.staff_prompt = st("staff_id_prompt")
        for keys in (self.passcode_keys, self.staff_keys):
            keys["clear"].text, keys["ok"].text = st("staff_key_clear"), st("staff_key_ok")

    def render(self, state: UiState, tr: Translator) -> None:
        """The resident's view state does not change staff pages (nothing typed is reset)."""

    @property
    def page(self) -> str:
        """passcode, board or settle."""
        return str(self.ids.pages.current)

    def begin(self) -> None:
        """Start at the passcode page with nothing typed (saying so if a back-off or lockout runs)."""
        self.clear()
        self._tries, self.passcode_message = 0, ""
        self.ids.pages.current = "passcode"
        try:
            self.guard.check_open()
        except PasscodeLocked as exc:
            self.passcode_message = self._locked_text(exc)

    def _locked_text(self, exc: PasscodeLocked) -> str:
        if exc.wait is None:
            return self.st("staff_passcode_locked", code=exc.staff_code)
        return self.st("staff_passcode_wait", s=int(exc.wait + 0.999))

    # --- passcode ------------------------------------------------------------------------------------
    def press_passcode(self, key: str) -> None:
        """A passcode keypad tap: a digit (up to 8), ``clear`` or ``ok``."""
        if key == "clear":
            self._digits.clear()
        elif key == "ok":
            self._submit()
        elif len(self._digits) < MAX_PASSCODE:
            self._digits.append(key)
        self.dots_text = "*" * len(self._digits)
        self.shell.click()

    def _submit(self) -> None:
        candidate = "".join(self._digits)
        self._digits.clear()
        try:
            ok = self.guard.verify(candidate)
        except PasscodeLocked as exc:  # nothing was checked: the code does not count as a try here
            self.passcode_message = self._locked_text(exc)
            return
        finally:
            del candidate
        if ok:
            log.info("staff mode opened")
            self._tries, self.passcode_message = 0, ""
            self.show_board()
            return
        self._tries += 1
        log.warning("staff mode: passcode refused (%d of %d)", self._tries, MAX_TRIES)
        if self._tries >= MAX_TRIES:
            self.leave()
            return
        try:
            self.guard.check_open()
        except PasscodeLocked as exc:
            self.passcode_message = self._locked_text(exc)
            return
        self.passcode_message = self.st("staff_passcode_wrong", n=MAX_TRIES - self._tries)

    # --- board ---------------------------------------------------------------------------------------
    def show_board(self, message: str = "") -> None:
        """The board page, read afresh from the journal."""
        self._item, self._staff_id = None, []
        self.board_message = message
        self.ids.pages.current = "board"
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the board from the journal; devices are probed on a worker thread."""
        rows, st, diag = self.ids.rows, self.st, self.access.diagnostics
        rows.clear_widgets()
        self.item_buttons = {}
        self.clear_call_button = None
        outcome = self.shell.state.outcome if self.shell.calling_staff else None
        if outcome is not None:  # the resident's screen waits for staff: say so first, and how to end it
            call = self._section(st("staff_calling", code=outcome.staff_code or "-"))
            if outcome.refund_owed:
                self._line(call, st("staff_calling_owed", yen=f"{outcome.refund_owed:,}"), warn=True)
            action = Factory.SButton(text=st("staff_clear_call"))
            action.size_hint_x, action.width = None, dp(280)
            action.bind(on_release=lambda _b: self.clear_call())
            rows.add_widget(action)
            self.clear_call_button = action
        devices = self._section(st("staff_devices"))
        self._line(devices, st("staff_devices_checking" if diag.devices else "staff_devices_none"))
        items = diag.open_items()
        self._section(st("staff_open_items", n=len(items)))
        for item in items:
            self._item_row(item)
        if not items:
            self._line(rows, st("staff_no_items"))
        self._section(st("staff_hoppers"))
        for h in sorted(diag.hopper_stock(), key=lambda h: h.slot.coin):  # 10, 50, 100, 500 yen
            cap = "-" if h.slot.capacity is None else str(h.slot.capacity)
            self._line(rows, st("staff_hopper_line", coin=h.slot.coin, stock=h.stock, capacity=cap))
        self._section(st("staff_recent"))
        for t in diag.recent(10):
            self._line(rows, txn_text(st, t))
        if not diag.recent(1):
            self._line(rows, st("staff_no_recent"))
        if diag.devices is not None:
            threading.Thread(target=self._probe, args=(devices,), name="staff-probe", daemon=True).start()

    def _probe(self, box: Any) -> None:
        status = self.access.diagnostics.device_status() or []
        Clock.schedule_once(lambda _dt: self._fill_devices(box, status))

    def _fill_devices(self, box: Any, status: list[DeviceStatus]) -> None:
        box.clear_widgets()
        for d in status:
            self._line(box, device_text(self.st, d), warn=not d.ok)

    def run_self_test(self) -> None:
        """自己診断: run the self-test on a worker thread; its results go on top of the board."""
        self.board_message = self.st("staff_self_test_running")
        threading.Thread(target=self._self_test, name="staff-self-test", daemon=True).start()

    def _self_test(self) -> None:
        results: list[DeviceStatus] = []
        why = ""
        try:
            results = self.access.diagnostics.self_test()
        except SettleRefused as exc:  # a resident is using the kiosk, or there is nothing to test
            why = self.st("staff_refused", reason=self.st(f"staff_why_{exc.code}", **exc.params))
        except Exception as exc:  # the staff screen stays up whatever the self-test does
            log.exception("self-test failed")
            why = f"{type(exc).__name__}: {exc}"
        Clock.schedule_once(lambda _dt: self._show_self_test(results, why))

    def _show_self_test(self, results: list[DeviceStatus], why: str) -> None:
        self.board_message = why
        if why:
            return
        rows = self.ids.rows
        box = BoxLayout(orientation="vertical", size_hint_y=None, height=0)
        box.bind(minimum_height=box.setter("height"))
        rows.add_widget(box, index=len(rows.children))  # on top of the board
        title = self.st("staff_self_test_results")
        rows.add_widget(Factory.STitle(text=title, halign="left"), index=len(rows.children))
        for d in results:
            self._line(box, device_text(self.st, d), warn=not d.ok)

    def _section(self, title: str) -> Any:
        self.ids.rows.add_widget(Factory.STitle(text=title, halign="left"))
        box = BoxLayout(orientation="vertical", size_hint_y=None, height=0)
        box.bind(minimum_height=box.setter("height"))
        self.ids.rows.add_widget(box)
        return box

    def _line(self, box: Any, text: str, *, warn: bool = False) -> None:
        box.add_widget(Factory.SWarn(text=text) if warn else Factory.SText(text=text))

    def _item_row(self, item: OpenItem) -> None:
        self._line(self.ids.rows, item_text(self.st, item), warn=True)
        action = Factory.SButton(text=self.st("staff_action_settle" if item.money else "staff_action_check"))
        action.size_hint_x, action.width = None, dp(280)
        action.bind(on_release=lambda _b, i=item: self.open_item(i))
        self.ids.rows.add_widget(action)
        self.item_buttons[(item.txn_id, item.item)] = action

    # --- settle --------------------------------------------------------------------------------------
    def open_item(self, item: OpenItem) -> None:
        """The settle page for ``item``: staff number, then confirm."""
        st = self.st
        self._item, self._staff_id, self.settle_message = item, [], ""
        self.settle_title = st("staff_settle_title" if item.money else "staff_check_title")
        self.item_text = item_text(st, item)
        yen = f"{item.yen:,}"
        self.confirm_text = st("staff_confirm_settle", yen=yen) if item.money else st("staff_confirm_check")
        self._show_staff_id()
        self.ids.pages.current = "settle"
        self.shell.click()

    def press_staff(self, key: str) -> None:
        """A staff-number keypad tap: a digit, ``clear`` or ``ok`` (= confirm)."""
        if key == "clear":
            self._staff_id.clear()
        elif key == "ok":
            self.confirm()
            return
        elif len(self._staff_id) < MAX_STAFF_ID:
            self._staff_id.append(key)
        self._show_staff_id()
        self.shell.click()

    def _show_staff_id(self) -> None:
        self.staff_id_text = self.st("staff_id_value", staff="".join(self._staff_id))

    def confirm(self) -> None:
        """Journal the item as settled by hand (its owed amount) or checked, by the typed staff number."""
        item, staff = self._item, "".join(self._staff_id)
        if item is None:
            return
        if not staff:
            self.settle_message = self.st("staff_need_id")
            return
        diag = self.access.diagnostics
        try:
            if item.money:
                diag.settle(item.txn_id, amount=item.yen, staff_id=staff)
            else:
                diag.check(item.txn_id, item.item, staff_id=staff)
        except SettleRefused as exc:
            why = self.st(f"staff_why_{exc.code}", **exc.params)
            self.settle_message = self.st("staff_refused", reason=why)
            return
        except StaffRecordError as exc:
            self.settle_message = self.st("staff_refused", reason=str(exc))
            return
        self.shell.click()
        self.show_board(self.st("staff_recorded", txn=item.txn_id))

    def clear_call(self) -> None:
        """呼出し画面を終了: end the call-staff screen (the flow goes on to the next resident, or asks for a
        card left on the reader) and leave staff mode. Nothing is sent once the screen no longer calls
        staff."""
        self.shell.click()
        if self.shell.calling_staff:
            log.info("staff cleared the call-staff screen")
            self.shell.send("clear_call", quiet=True)
        self.leave()

    # --- leaving -------------------------------------------------------------------------------------
    def toggle_language(self) -> None:
        """Japanese <-> English."""
        self.st = Translator("en" if self.st.language == "ja" else "ja", domain=STAFF_DOMAIN)
        self._texts()
        self.show_board()

    def leave(self) -> None:
        """終了: back to the resident's screen (everything typed is forgotten)."""
        self.clear()
        self.shell.close_staff()

    def clear(self) -> None:
        self._digits.clear()
        self._staff_id.clear()
        self._item = None
        self.dots_text = ""
        self.staff_id_text = ""

    def on_leave(self, *_args: object) -> None:
        self.clear()


def attach_staff(shell: Any, access: StaffAccess) -> StaffScreen:
    """Add the staff screen to ``shell``'s manager and the 3 s press on its header title. Never raises."""
    screen = StaffScreen(shell, access, name="staff")
    shell.ids.manager.add_widget(screen)
    shell.staff_press = LongPress(shell.ids.title, shell.open_staff)
    return screen


load_kv(__file__)
