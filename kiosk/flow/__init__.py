"""The headless transaction flow (no Kivy): state machine, events, view state, steps, outcomes."""
