"""Finding the header row and mapping its columns to roles."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.reconcile.importers.layouts import Layout, name_forms, norm_name
from ledger.reconcile.importers.reading import Row, Table
from ledger.reconcile.importers.records import HEADER_SCAN_ROWS


@dataclass(frozen=True)
class Header:
    """The header row and, for each role, the columns that carry it."""

    row: Row
    roles: dict[str, list[int]]  # role → column indexes, best synonym first

    def name(self, index: int) -> str:
        return self.row.cells[index]


def _match_roles(row: Row, layout: Layout) -> dict[str, list[int]]:
    forms = [name_forms(cell) if cell else () for cell in row.cells]
    roles: dict[str, list[int]] = {}
    for role, synonyms in layout.columns.items():
        found: list[int] = []
        for synonym in synonyms:
            wanted = norm_name(synonym)
            found.extend(i for i, names in enumerate(forms) if wanted in names and i not in found)
        if found:
            roles[role] = found
    return roles


def missing_columns(roles: dict[str, list[int]], layout: Layout) -> list[str]:
    """A problem for every role ``layout`` requires that ``roles`` does not map to a column."""
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


def _has_detect_names(row: Row, layout: Layout) -> bool:
    present = {form for cell in row.cells if cell for form in name_forms(cell)}
    return all(norm_name(name) in present for name in layout.detect)


def find_header(table: Table, layout: Layout) -> tuple[Header | None, Header | None]:
    """(complete header, best incomplete candidate) among the first rows of the table."""
    best: Header | None = None
    for row in table.rows[:HEADER_SCAN_ROWS]:
        if row.blank:
            continue
        roles = _match_roles(row, layout)
        if not roles:
            continue
        candidate = Header(row, roles)
        if not missing_columns(roles, layout) and _has_detect_names(row, layout):
            return candidate, None
        if len(roles) >= 2 and (best is None or len(roles) > len(best.roles)):
            best = candidate
    return None, best
