"""Cameras: the contract (`base.py`), the OpenCV `VideoCapture` driver (`opencv.py`) and a
scriptable simulator (`simulator.py`) with the default face it shows (`sources.py`)."""
