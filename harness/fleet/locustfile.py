"""Locust file of the fleet: one Locust user is one virtual kiosk (its threads run in this process's
kiosk host; see harness.fleet.locust_user). Run it through ``kiosk-harness fleet --locust|--master|
--worker``, or with Locust's own command line:
``locust -f harness/fleet/locustfile.py --fleet-dir R --fleet-transactions 40 --headless -u 4``.
"""

from __future__ import annotations

import argparse
from typing import Any

from locust import User, constant, events, task
from locust.env import Environment
from locust.exception import StopUser

from harness.fleet import locust_user


@events.init_command_line_parser.add_listener
def _options(parser: argparse.ArgumentParser) -> None:
    locust_user.add_options(parser)


@events.init.add_listener
def _init(environment: Environment, **_: Any) -> None:
    locust_user.on_init(environment)


@events.test_start.add_listener
def _test_start(environment: Environment, **_: Any) -> None:
    locust_user.on_test_start(environment)


@events.test_stopping.add_listener
def _test_stopping(environment: Environment, **_: Any) -> None:
    locust_user.on_stopping(environment)


@events.quitting.add_listener
def _quitting(environment: Environment, **_: Any) -> None:
    locust_user.on_quitting(environment)


class KioskUser(User):
    """One virtual kiosk: its residents play transactions on real threads until the budget is spent."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.kiosk = locust_user.KioskRunner(self.environment)

    @task
    def report_steps(self) -> None:
        """Report the kiosk's steps; stop this user once the kiosk has closed."""
        if not self.kiosk.drain():
            self.kiosk.report_done()
            raise StopUser()
