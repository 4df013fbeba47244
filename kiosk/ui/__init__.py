"""The resident's touchscreen: Kivy screens rendering the headless flow's view state.

Importing this package does not import Kivy; ``kiosk.ui.app`` does (set the KIVY_* environment first).
"""
