"""Scenario files that are TOML but not a scenario: one ScenarioError naming the file, never a TypeError
(found by the fuzzer: fuzz/corpus/scenario/finding-unhashable-step)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.scenario import ScenarioError, load_scenario


@pytest.mark.parametrize(
    "text",
    [
        "[[step]]\nwait = [1]\n",
        "[[step]]\nwait = {a = 1}\n",
        '[[step]]\ndo = ["pin"]\n',
        "[[step]]\ndo = {}\n",
        'setup = "ab"\n',
        "setup = 1\n",
        "expect = [1, 2]\n",
    ],
)
def test_a_value_of_the_wrong_kind_is_a_scenario_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "odd.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"odd\.toml"):
        load_scenario(path)


def test_a_good_scenario_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "good.toml"
    path.write_text(
        '[setup]\nresident = "C-001"\n[[step]]\nwait = "attract"\ndo = "start"\n', encoding="utf-8"
    )
    scenario = load_scenario(path)
    assert scenario.setup == {"resident": "C-001"} and scenario.steps[0]["do"] == "start"
