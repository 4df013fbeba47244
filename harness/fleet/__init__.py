"""A fleet of virtual kiosks against one center, under a fault schedule, judged from the evidence they
leave (``kiosk-harness fleet``; docs/fleet.md)."""
