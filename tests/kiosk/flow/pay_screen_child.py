"""A kiosk process on a store's devices (``RealKiosk`` from a kiosk.toml), taken to the pay screen by a
resident whose hands belong to the test process (run by test_killed_on_pay_screen.py): ``CONFIG``.

Talks one line at a time. It prints ``hands insert_card`` / ``hands remove_card`` and waits for any line
on stdin (the test moved the card); ``pay TXN`` once the pay screen shows. Then each stdin line
``inserted N`` is answered with ``inserted N`` as soon as the pay screen shows N yen credited. It never
leaves on its own: the test SIGKILLs it.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from kiosk.app.assemble import RealKiosk
from kiosk.app.config import load_config
from kiosk.flow import events as ev
from kiosk.flow.view import Screen, ViewState

PIN = "1234"
TIMEOUT = 60.0


def main(config: str) -> int:
    with RealKiosk(load_config(Path(config))) as kiosk:
        changed = threading.Condition()

        def seen(_view: ViewState) -> None:
            with changed:
                changed.notify_all()

        def wait(screen: Screen, inserted: int | None = None) -> None:
            def there() -> bool:
                view = kiosk.flow.view
                return view.screen is screen and inserted in (None, view.amount_inserted)

            with changed:
                if not changed.wait_for(there, TIMEOUT):
                    raise TimeoutError(f"no {screen} (at {kiosk.flow.view.screen})")

        def hands(what: str) -> None:
            print(f"hands {what}", flush=True)
            sys.stdin.readline()

        kiosk.flow.subscribe(seen)
        post = kiosk.flow.post
        for screen, act in (
            (Screen.ATTRACT, lambda: post(ev.Start("ja"))),
            (Screen.ROUTE, lambda: post(ev.ChooseRoute("residence"))),
            (Screen.PLACE_CARD, lambda: hands("insert_card")),
            (Screen.PIN, lambda: post(ev.PinEntered(PIN))),
            (Screen.REMOVE_CARD, lambda: hands("remove_card")),
            (Screen.CHOOSE_TYPE, lambda: post(ev.ChooseType("juminhyo"))),
            (Screen.OPTIONS, lambda: post(ev.ChooseOptions((("scope", "all"),)))),
            (Screen.COPIES, lambda: post(ev.ChooseCopies(1))),
            (Screen.CONFIRM, lambda: post(ev.Confirm())),
        ):
            wait(screen)
            act()
        wait(Screen.PAY)
        print(f"pay {kiosk.flow.transaction_id}", flush=True)
        for line in sys.stdin:
            amount = int(line.split()[1])
            wait(Screen.PAY, amount)
            print(f"inserted {amount}", flush=True)
        threading.Event().wait()  # until killed
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
