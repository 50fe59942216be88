"""Report templates (Jinja2 + WeasyPrint) and, in ``web/``, the pages' templates: shipped inside the package
as ``ledger.templates`` (setup.py maps this folder there), found with ``importlib.resources``."""
