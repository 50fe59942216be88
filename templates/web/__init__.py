"""The web pages' templates and stylesheet (``ledger.templates.web``)."""
