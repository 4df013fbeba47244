"""The cash unit's configuration, device identification and acceptance policy, split from ``cash.py``.

Which coins and notes the acceptors take is decided here from the amount due, the credit so far and
the hoppers' stock as the driver counts it (ccTalk hoppers report no levels): a denomination whose
change cannot be paid exactly is inhibited, so the resident gets it back at once instead of being
owed change. ``refused_for_change`` names those, so the screen can say "exact amount, please" before
anything is paid.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kiosk.devices.cash import cctalk
from kiosk.devices.cash.cctalk import CcTalkError, RouteCode
from kiosk.devices.cash.change import acceptable_denominations
from kiosk.devices.cash.hopper import HopperConfig
from kiosk.devices.cash.serial_link import CcTalkDevice, DeviceHealth, DeviceIdentity
from kiosk.money import CURRENCY, CashError, Fault, FaultKind

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CashUnitConfig:
    """Bus layout and policy. ``refused_notes`` stay inhibited whatever is due. ``hoppers`` carry the
    coins staff loaded: the driver's stock starts there and goes down by what it pays out (the real kiosk
    starts it from the journal: ``kiosk.journal.hopper_stock.cash_unit_config``)."""

    coin_address: int = int(cctalk.Address.COIN_ACCEPTOR)
    bill_address: int | None = int(cctalk.Address.BILL_VALIDATOR)
    hoppers: tuple[HopperConfig, ...] = (
        HopperConfig(3, 100, 50),
        HopperConfig(4, 10, 50),
        HopperConfig(5, 500, 20),
        HopperConfig(6, 50, 20),
    )
    refused_notes: frozenset[int] = frozenset({2000})
    poll_interval: float = 0.2
    payout_poll: float = 0.05
    payout_seconds_per_coin: float = 0.5
    retries: int = 2
    # Journal every dispense before and after (kiosk.journal.store's hopper log), so that the stock survives a
    # restart (kiosk.journal.hopper_stock); the real kiosk sets it. The journal must implement
    # HopperStockJournal.
    journal_stock: bool = False

    def with_stock(self, stock: Mapping[int, int]) -> CashUnitConfig:
        """This config with the coins loaded in each hopper set from ``stock`` (bus address → coins);
        hoppers not named keep their figure. Raises ValueError for an unknown address or a count < 0."""
        unknown = set(stock) - {h.address for h in self.hoppers}
        if unknown or any(n < 0 for n in stock.values()):
            raise ValueError(f"no hopper at {sorted(unknown)} or a negative count in {dict(stock)}")
        hoppers = tuple(dataclasses.replace(h, stock=stock.get(h.address, h.stock)) for h in self.hoppers)
        return dataclasses.replace(self, hoppers=hoppers)


@dataclass
class Track:
    """Host side of one event buffer: last counter accepted (None = no baseline yet), the counter the
    journal holds for it (None = none yet), events taken."""

    name: str
    last: int | None = None
    seq: int = 0
    mask: int | None = None  # last inhibit mask sent (None = unknown: send again)
    values: dict[int, int] = field(default_factory=dict)  # position -> yen
    journaled: int | None = None
    serial: int | None = None  # the device's serial number, journaled with its counter

    def send_mask(self, device: CcTalkDevice, mask: int) -> None:
        """Send the inhibit mask (and master enable) unless the device already has it; to inhibit, the
        master inhibit goes first (one command stops everything). A failure leaves the mask unknown, so
        the next poll sends it again. Raises CcTalkError."""
        if mask == self.mask:
            return
        self.mask = None
        if mask == 0:
            device.set_master_enabled(False)
            device.set_inhibits(0)
        else:
            device.set_inhibits(mask)
            device.set_master_enabled(True)
        self.mask = mask


def parse_value(ident: str, width: int, scale: int) -> int | None:
    """Yen of a "JP…" coin/bill id, None for an empty or foreign position."""
    if not ident.startswith(CURRENCY) or len(ident) < 2 + width:
        return None
    value = cctalk.coin_id_value(ident[2 : 2 + width])
    return None if value is None else value * scale


def expect_category(device: CcTalkDevice, category: str) -> DeviceIdentity:
    """Identify ``device``. Raises CashError if it is not a ``category`` device, CcTalkError (link)."""
    identity = device.identify()
    if identity.category.lower() != category.lower():
        raise CashError(f"device {device.address} is a {identity.category!r}, expected {category!r}")
    return identity


def coin_values(device: CcTalkDevice) -> dict[int, int]:
    """Position → yen of the coin acceptor's 16 coin ids (foreign or empty ones left out).
    Raises CcTalkError."""
    return {p: v for p in range(1, 17) if (v := parse_value(device.coin_id(p), 3, 1)) is not None}


def bill_values(device: CcTalkDevice) -> dict[int, int]:
    """Position → yen of the bill validator's 16 bill ids. Raises CashError if the validator counts yen
    with decimals, CcTalkError."""
    scale, decimals = device.country_scaling(CURRENCY)
    if decimals:
        raise CashError(f"bill validator reports {decimals} decimal places for yen")
    values = {p: parse_value(device.bill_id(p), 4, scale) for p in range(1, 17)}
    return {p: v for p, v in values.items() if v is not None}


def acceptor_health(role: str, device: CcTalkDevice) -> DeviceHealth:
    """Identity and inhibit mask of an acceptor, for staff diagnostics. Never raises for a device fault."""
    try:
        identity = device.identify()
        mask = device.link.command(device.address, cctalk.Header.REQUEST_INHIBIT_STATUS, retries=1)
    except CcTalkError as exc:
        return DeviceHealth(role, device.address, False, f"not answering: {exc}")
    return DeviceHealth(role, device.address, True, f"inhibit mask {mask.hex()}", identity)


def inhibit_mask(
    values: Mapping[int, int], due: int, credited: int, stock: Mapping[int, int], refused: frozenset[int]
) -> int:
    """The ccTalk inhibit mask (bit p-1 set = position p accepted) for a payment in progress.
    Raises ChangeError on invalid stock."""
    offered = {v for v in values.values() if v not in refused}
    ok = acceptable_denominations(due, credited, offered, stock)
    return sum(1 << (p - 1) for p, v in values.items() if v in ok)


def refused_for_change(
    offered: Iterable[int], due: int, credited: int, stock: Mapping[int, int]
) -> frozenset[int]:
    """Denominations that would need change which the stock cannot pay: refused while it lasts (empty
    when nothing is due). Raises ChangeError on invalid stock."""
    remaining = due - credited
    if remaining <= 0:
        return frozenset()
    needing_change = {d for d in offered if d > remaining}
    return frozenset(needing_change - acceptable_denominations(due, credited, needing_change, stock))


def coin_fault_kind(status: int) -> FaultKind | None:
    """The fault a coin acceptor status code means; None for a plain rejection (the coin came back)."""
    if status in cctalk.COIN_JAM_CODES:
        return FaultKind.JAM
    if status in cctalk.COIN_FRAUD_CODES:
        return FaultKind.FRAUD
    if status in (36, 255):  # swallowed coin / unspecified alarm: money or device at risk
        return FaultKind.DEVICE_ERROR
    return None


def bill_fault_kind(status: int) -> FaultKind:
    """The fault a bill validator status code means (fraud, jam, else a device error)."""
    if status in cctalk.BILL_FRAUD_CODES:
        return FaultKind.FRAUD
    return FaultKind.JAM if status in cctalk.BILL_JAM_CODES else FaultKind.DEVICE_ERROR


def route_escrow(bill: CcTalkDevice, *, stack: bool) -> tuple[bool, Fault | None]:
    """Stack or return the escrowed note. Returns (escrow now empty, fault to report). A lost reply is
    logged, not raised: the next poll shows whether it happened."""
    code = RouteCode.STACK if stack else RouteCode.RETURN
    try:
        result = bill.route_bill(code)
    except CcTalkError as exc:
        log.warning("route bill %s: %s", code.name, exc)
        return False, None
    if result == cctalk.ROUTE_ESCROW_EMPTY:
        return True, None
    if result is None:
        return False, None
    return False, Fault(FaultKind.DEVICE_ERROR, "bill", f"route {code.name} failed ({result})", result)
