"""Registry: seeding (idempotent, survives re-open), lookups, card binding, issues, notes, threads."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from relay_data_helpers import MONDAY, jst

from mock_relay.model import CertType, ResidentStatus, SealStatus
from mock_relay.registry.store import Registry


def _hash(serial: int) -> str:
    return hashlib.sha256(serial.to_bytes(20, "big")).hexdigest()


def _counts(path: Path) -> tuple[int, ...]:
    with sqlite3.connect(path) as conn:
        return tuple(
            conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("municipalities", "residents", "seals", "tax_records", "issues")
        )


def test_seed_is_idempotent_and_survives_reopen(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    Registry(db, clock=lambda: MONDAY).close()
    first = _counts(db)
    reg = Registry(db, clock=lambda: MONDAY)
    reg.bind_card("C-001", _hash(0x1234), "1234")
    reg.record_issue("C-001", CertType.INKAN, jst(2026, 11, 30, 9))
    reg.close()
    assert _counts(db)[:4] == first[:4]
    assert _counts(db)[4] == first[4] + 1  # only the explicit issue; "issued today" seeding did not repeat
    again = Registry(db, clock=lambda: MONDAY)
    resident = again.resident_for_cert(_hash(0x1234))
    assert resident is not None and resident.id == "C-001"
    assert resident.last_issued[CertType.INKAN] == jst(2026, 11, 30, 9)
    assert again.meta("seed_version")
    again.close()


def test_data_set_size_and_cases(registry: Registry) -> None:
    residents = registry.residents()
    assert len(residents) >= 25
    assert len(registry.municipalities()) >= 4
    assert any(r.foreign is not None for r in residents)
    assert any(r.status is ResidentStatus.DECEASED for r in residents)
    assert any(r.status is ResidentStatus.MOVED_OUT for r in residents)
    assert any(r.support_measure for r in residents)
    assert any(r.seal.status is SealStatus.ABOLISHED for r in residents)
    assert any(r.age_on(MONDAY.date()) < 15 for r in residents)
    elsewhere = [r for r in residents if r.koseki and r.koseki.municipality_code != r.municipality_code]
    assert any(r.koseki and r.koseki.registration_date for r in elsewhere)
    assert any(r.koseki and r.koseki.registration_date is None for r in elsewhere)
    assert max(len(registry.household(r.household_id)) for r in residents) >= 8


def test_lookups(registry: Registry) -> None:
    chiyoda = registry.municipality("131016")
    assert chiyoda is not None and chiyoda.name == "千代田区" and chiyoda.full_name == "東京都千代田区"
    assert registry.municipality("999999") is None
    assert registry.resident("nobody") is None
    household = registry.household("H-C01")
    assert [r.id for r in household] == ["C-001", "C-002", "C-003", "C-004"]
    assert household[0].is_head and household[0].full_kana == "やまだ\u3000たろう"
    assert {r.municipality_code for r in registry.residents("011011")} == {"011011"}
    assert [r.id for r in registry.koseki_members("K-Y02")] == ["C-005", "C-006"]
    taro = registry.resident("C-001")
    assert taro is not None and taro.tax_for(2026) is not None and taro.seal.number


def test_bind_card_rules(registry: Registry) -> None:
    h = _hash(77)
    registry.bind_card("Y-001", h, "4D")
    registry.bind_card("Y-001", h, "4D")  # idempotent
    with pytest.raises(ValueError, match="another resident"):
        registry.bind_card("Y-002", h, "4D")
    with pytest.raises(KeyError):
        registry.bind_card("nobody", _hash(78), "4E")
    with pytest.raises(ValueError, match="64"):
        registry.bind_card("Y-001", "ABC", "4D")
    with pytest.raises(ValueError, match="hex"):
        registry.bind_card("Y-001", _hash(79), "xyz")
    assert registry.resident_for_cert(_hash(80)) is None
    bound = registry.resident_for_cert(h)
    assert bound is not None and bound.id == "Y-001"


def test_record_issue_validation(registry: Registry) -> None:
    with pytest.raises(KeyError):
        registry.record_issue("nobody", CertType.JUMINHYO, MONDAY)
    with pytest.raises(ValueError, match="aware"):
        registry.record_issue("C-001", CertType.JUMINHYO, MONDAY.replace(tzinfo=None))


def test_issued_today_case_is_seeded_for_the_clock_day(registry: Registry) -> None:
    y009 = registry.resident("Y-009")
    assert y009 is not None
    assert y009.last_issued[CertType.JUMINHYO].date() == MONDAY.date()


@pytest.mark.parametrize(
    ("rid", "note"),
    [
        ("C-003", "under 15"),
        ("C-009", "moved out 2026-03-31"),
        ("C-010", "move-out filed 2027-03-31"),
        ("Y-007", "deceased 2026-02-14"),
        ("C-007", "支援措置"),
        ("C-002", "seal abolished"),
        ("C-006", "本籍 横浜市中区, 利用登録 none"),
        ("C-005", "本籍 横浜市中区, 利用登録 done"),
        ("Y-006", "本籍 261025 (not participating), 利用登録 done"),
        ("Y-005", "foreign resident (英国)"),
        ("Y-009", "issued today: juminhyo"),
        ("C-011", "household move-out pending"),
    ],
)
def test_notes(registry: Registry, rid: str, note: str) -> None:
    resident = registry.resident(rid)
    assert resident is not None
    assert note in registry.notes(resident)


def test_plain_resident_has_no_case_notes(registry: Registry) -> None:
    resident = registry.resident("C-004")
    assert resident is not None and registry.notes(resident) == []


def test_concurrent_use_from_threads(registry: Registry) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                registry.bind_card("S-009", _hash(n * 1000 + i), f"{n:02X}{i:02X}")
                assert registry.resident_for_cert(_hash(n * 1000 + i)) is not None
                registry.record_issue("S-009", CertType.KAZEI, jst(2026, 11, 30, 10, i))
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    resident = registry.resident("S-009")
    assert resident is not None and resident.last_issued[CertType.KAZEI] == jst(2026, 11, 30, 10, 19)


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        Registry(bad)


def test_the_register_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    # Issue #14: the register (names, addresses, 個人番号) was created 0644.
    db = tmp_path / "r.sqlite"
    old = os.umask(0o022)
    try:
        reg = Registry(db, clock=lambda: MONDAY)
        reg.bind_card("C-001", _hash(0x77), "77")  # a write: the WAL file exists now
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        reg.close()
        loose = tmp_path / "old.sqlite"
        loose.touch(mode=0o644)
        Registry(loose, seed=False).close()  # a register from an older run is tightened on open
    finally:
        os.umask(old)
    assert modes["r.sqlite"] == 0o600 and modes["r.sqlite-wal"] == 0o600, modes
    assert set(modes.values()) == {0o600}, modes
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600


def test_cached_reads_follow_this_connections_writes(registry: Registry) -> None:
    before = registry.resident("C-001")
    assert before is not None and registry.resident("C-001") is before  # served from the cache
    registry.record_issue("C-001", CertType.INKAN, MONDAY)
    after = registry.resident("C-001")
    assert after is not before
    assert after is not None and after.last_issued[CertType.INKAN] == MONDAY


def test_cached_reads_follow_another_connections_writes(registry: Registry) -> None:
    resident = registry.resident("C-001")
    assert resident is not None and resident.koseki is not None
    assert registry.household(resident.household_id)  # cached too
    other = Registry(registry_path(registry), seed=False)  # e.g. the mock-relay CLI on the same file
    try:
        other.register_honseki("C-001", MONDAY.date())
    finally:
        other.close()
    again = registry.resident("C-001")
    assert again is not None and again.koseki is not None
    assert again.koseki.registration_date == MONDAY.date()
    household = {m.id: m for m in registry.household(resident.household_id)}
    assert household["C-001"].koseki == again.koseki


def registry_path(registry: Registry) -> Path:
    row = registry._conn.execute("PRAGMA database_list").fetchone()
    return Path(row["file"])


def test_another_connections_issue_forgets_only_what_holds_that_resident(registry: Registry) -> None:
    issued, other_resident = registry.resident("C-001"), registry.resident("C-005")
    assert issued is not None and other_resident is not None
    household = registry.household(issued.household_id)
    other = Registry(registry_path(registry), seed=False)  # another API process on the same file
    try:
        other.record_issue("C-001", CertType.INKAN, MONDAY)
    finally:
        other.close()
    again = registry.resident("C-001")
    assert again is not None and again.last_issued[CertType.INKAN] == MONDAY
    assert registry.household(issued.household_id) is not household  # holds C-001: read again
    assert registry.resident("C-005") is other_resident  # untouched: still the cached record


def test_a_write_that_logs_nothing_forgets_everything(registry: Registry) -> None:
    kept = registry.resident("C-005")
    assert kept is not None
    with sqlite3.connect(registry_path(registry)) as raw:  # not through Registry: no change logged
        raw.execute(
            "INSERT INTO issues (resident_id, cert_type, issued_at) VALUES ('C-005', ?, ?)",
            (CertType.INKAN.value, MONDAY.isoformat()),
        )
    again = registry.resident("C-005")
    assert again is not kept and again is not None and again.last_issued[CertType.INKAN] == MONDAY


def test_every_resident_of_the_register_can_be_put_on_a_card(registry: Registry) -> None:
    """WILLIAMS EMILY ROSE's reading (エミリー, ideographic space, ローズ) kept its space: the card refused
    it, and every fleet ran without her."""
    from mock_relay.cli.cards import holder_for

    for resident in registry.residents():
        holder_for(resident).validate(today=MONDAY.date())
    emily = registry.resident("Y-005")
    assert emily is not None
    assert holder_for(emily).kana == "ウィリアムズ\u3000エミリー\u30fbローズ"
