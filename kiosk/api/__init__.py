"""The back-end contract (contract, signing, documents) and the kiosk's client of it.

The contract modules are shared with the back end; they import nothing else of the kiosk.
"""
