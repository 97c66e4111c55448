"""One screen per flow state: `<name>.kv` for the layout, a thin `<name>.py` for its class."""
