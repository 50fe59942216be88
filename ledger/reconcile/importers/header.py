"""Finding the header row and mapping its columns to roles."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.reconcile.importers.layouts import _Layout, _name_forms, _norm_name
from ledger.reconcile.importers.reading import _Row, _Table
from ledger.reconcile.importers.records import _HEADER_SCAN_ROWS


@dataclass(frozen=True)
class _Header:
    row: _Row
    roles: dict[str, list[int]]  # role → column indexes, best synonym first

    def name(self, index: int) -> str:
        return self.row.cells[index]


def _match_roles(row: _Row, layout: _Layout) -> dict[str, list[int]]:
    forms = [_name_forms(cell) if cell else () for cell in row.cells]
    roles: dict[str, list[int]] = {}
    for role, synonyms in layout.columns.items():
        found: list[int] = []
        for synonym in synonyms:
            wanted = _norm_name(synonym)
            found.extend(i for i, names in enumerate(forms) if wanted in names and i not in found)
        if found:
            roles[role] = found
    return roles


def _missing_columns(roles: dict[str, list[int]], layout: _Layout) -> list[str]:
    missing = [
        f"no column for {layout.role_label(role)}; looked for {layout.looked_for(role)}"
        for role in layout.required
        if role not in roles
    ]
    for group in layout.required_any:
        if not any(role in roles for role in group):
            looked = "; ".join(f"{layout.role_label(role)} ({layout.looked_for(role)})" for role in group)
            missing.append(f"no amount column; looked for one of {looked}")
    return missing


def _has_detect_names(row: _Row, layout: _Layout) -> bool:
    present = {form for cell in row.cells if cell for form in _name_forms(cell)}
    return all(_norm_name(name) in present for name in layout.detect)


def _find_header(table: _Table, layout: _Layout) -> tuple[_Header | None, _Header | None]:
    """(complete header, best incomplete candidate) among the first rows of the table."""
    best: _Header | None = None
    for row in table.rows[:_HEADER_SCAN_ROWS]:
        if row.blank:
            continue
        roles = _match_roles(row, layout)
        if not roles:
            continue
        candidate = _Header(row, roles)
        if not _missing_columns(roles, layout) and _has_detect_names(row, layout):
            return candidate, None
        if len(roles) >= 2 and (best is None or len(roles) > len(best.roles)):
            best = candidate
    return None, best
