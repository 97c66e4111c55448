"""Hardware drivers: one folder per device class (camera, fingerprint, printer, reader).

Each class has a contract in `<class>/base.py`, a real driver and a scriptable simulator.
Drivers import nothing of kiosk/, backend/ or biometrics/ and never import kivy: they report
progress through callbacks and fail with the three kinds of errors in `drivers.errors`.
"""
