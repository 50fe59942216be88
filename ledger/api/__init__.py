"""The finance HTTP API (``/api/v1``): small routers per noun; no SQL here, only calls into ``ledger``."""
