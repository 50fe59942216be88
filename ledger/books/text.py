"""Text the books keep: no NUL and no control characters.

A memo, a name or a reason is printed on vouchers and statements and stored in both databases;
PostgreSQL refuses NUL in text outright, and the other control characters (C0 but tab, line feed and
carriage return; DEL; C1) are invisible on paper and break the CSV and XLSX exports. The rule lives here
once; the HTTP layer applies it to every request value (``ledger.api.text_guard``), imports to every cell.
"""

from __future__ import annotations

import re

from ledger.books.errors import ValidationError

CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""What text may not hold: C0 controls except tab, line feed and carriage return; DEL; C1 controls."""


def control_character(text: str) -> str | None:
    """The first control character of ``text`` as ``U+0000``, or None when there is none."""
    found = CONTROL_CHARACTERS.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def check_text(text: str, field: str) -> str:
    """``text`` unchanged, or a ValidationError naming ``field`` and the character."""
    bad = control_character(text)
    if bad is not None:
        raise ValidationError(
            f"text may not hold control characters ({bad})", field=field, code="invalid_text"
        )
    return text
