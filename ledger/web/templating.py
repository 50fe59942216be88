"""The web's one Jinja environment: the pages, the till, the public verify page and the login gate's refusal.

Templates are package data (``ledger.templates.web``, from ``templates/web/`` in a checkout), found the
same way in a checkout and in a wheel; HTML is escaped, an undefined name is an error, and block tags leave
no blank lines. Whoever renders a template renders it alike. This module only loads templates: the
request, the session and the words (``ledger.web.i18n``) are the renderer's.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES_DIR = Path(str(files("ledger.templates.web")))


@cache
def environment() -> Environment:
    """The environment every web template is rendered in (made once)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
