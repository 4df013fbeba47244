"""``kiosk-harness``, the test engineer's command: ``main`` (play, sim, demo-ui) in ``harness.cli.main``,
the test bench's ``bench up`` and ``drive`` in ``harness.cli.bench``, the fleet in ``harness.fleet.cli``."""

from harness.cli.main import SCENARIOS, build_parser, main, scenario_path

__all__ = ["SCENARIOS", "build_parser", "main", "scenario_path"]
