"""Maintenance mode's side of the kiosk outside the flow: the technician PIN and its lockout
(pin.py), the hash-chained audit log of maintenance actions (audit.py), the kiosk's own log
file and its redaction (logs.py, redact.py), and the service that performs the maintenance
screens' tasks on the runner's worker thread (service.py: diagnostics from kiosk/doctor.py,
outbox drain, settings and identity).

The maintenance states themselves are flow states (kiosk/flow/maintenance.py). Nothing here
imports kivy; this package's __init__ imports nothing, so the flow's runner can use pin.py
without loading drivers.
"""
