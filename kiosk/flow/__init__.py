"""The resident's journeys as a pure-Python state machine: events in, state and effects out.

No kivy and no real driver is imported anywhere under kiosk/flow (tests/test_import_rules.py).
The UI maps each state to a screen and each touch to an event; the runner performs effects
on worker threads and feeds their results back as events.
"""
