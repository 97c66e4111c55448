"""QR / barcode readers: the contract (`base.py`), a USB keyboard-wedge scanner fed the UI's
key events (`wedge.py`), QR codes from the camera's frames (`camera_qr.py`) and a scriptable
simulator (`simulator.py`). A reader delivers text; what it means (an e-card) is the
kiosk's business (kiosk/api/ecard.py)."""
