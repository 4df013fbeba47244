"""The real window on Xvfb: nothing is set here (the window runs in its own process, with its own
environment; see desktop_helpers.Kiosk)."""
