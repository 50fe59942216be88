"""The officer's web workbench: server-rendered pages (``pages``), the signed session cookie (``session``),
CSRF, security headers and login throttling (``security``), and the Chinese/English labels (``i18n``).

The app factory mounts ``ledger.web.pages.views.router``; the web layer needs no middleware of its own (every
page route runs inside ``pages.WebRoute``).
"""
