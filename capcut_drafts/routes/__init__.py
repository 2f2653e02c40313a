"""The routes: one module per route family (request model + handler) and the request-model base
(`schema.py`). `capcut_drafts.api` registers and runs them. No Flask."""
