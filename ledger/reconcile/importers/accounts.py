"""The file's own account number, and whether it is the statement account's."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from ledger.reconcile.importers.drafts import ParseContext
from ledger.reconcile.importers.header import Header
from ledger.reconcile.importers.reading import CONTROL_RE, Table
from ledger.reconcile.importers.records import Draft, Problems

# 账号：18-123401040012345, #账号：[20881234567890120156], 商户号: 1600012345 (not 对方账号).
_ACCOUNT_IN_TEXT = re.compile(
    r"(?<!对方)(?:账号|帐号|卡号|商户号)[:：]\s*\[?\s*([0-9A-Za-z][0-9A-Za-z*@._\-]*)"
)
_ACCOUNT_NAMES = frozenset({"账号", "帐号", "卡号", "商户号", "账户号"})
_NO_ACCOUNT = frozenset({"", "0", "-"})


def file_accounts(ctx: ParseContext, drafts: Sequence[Draft]) -> tuple[str, ...]:
    """The account numbers the file prints for itself: a preamble's 账号 (CCB personal, ABC, Alipay's `#`
    lines) and a column of the rows (CCB corporate's 账号, WeChat's 商户号 / 特约商户号). A column holding two
    accounts is a problem: a statement is of one account."""
    found: list[str] = []
    for row in ctx.table.rows:
        if row.line_no >= ctx.header.row.line_no:
            break
        for index, cell in enumerate(row.cells):
            text = unicodedata.normalize("NFKC", cell).replace(" ", "")
            match = _ACCOUNT_IN_TEXT.search(text)
            if match:
                found.append(match.group(1))
            elif text in _ACCOUNT_NAMES and index + 1 < len(row.cells) and row.cells[index + 1]:
                found.append(row.cells[index + 1])
    own = ctx.header.roles.get("own_account", [])
    line_rows = {d.line_no for d in drafts} if own else set()
    rows = [row for row in ctx.body.data if row.line_no in line_rows]  # not the footers
    for index in own:
        values = {row.cells[index] for row in rows if index < len(row.cells)} - _NO_ACCOUNT
        if len(values) > 1:
            shown = ", ".join(sorted(values)[:3])
            ctx.problems.add(
                None, ctx.header.name(index), f"the file holds lines of {len(values)} accounts ({shown})"
            )
        found.extend(sorted(values))
    return tuple(dict.fromkeys(found))


def _account_form(number: str) -> str:
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", number)).casefold()


def account_matches(file_numbers: Sequence[str], account_no: str) -> bool:
    """Whether the statement account's number is one the file prints (ignoring spaces, dashes and case;
    a masked ``6217****8901`` matches by its visible digits)."""
    want = _account_form(account_no)
    for number in file_numbers:
        have = _account_form(number)
        if have == want:
            return True
        if "*" in have:
            prefix, suffix = have.split("*", 1)[0], have.rsplit("*", 1)[1]
            if (prefix or suffix) and want.startswith(prefix) and want.endswith(suffix):
                return True
    return False


def control_problems(table: Table, header: Header, problems: Problems) -> None:
    """A problem for every cell holding a control character (a NUL, an escape), named by its column."""
    for row in table.rows:
        for index, cell in enumerate(row.cells):
            match = CONTROL_RE.search(cell)
            if match is None:
                continue
            named = index < len(header.row.cells) and header.row.cells[index] and row is not header.row
            column = header.row.cells[index] if named else f"field {index + 1}"
            problems.add(
                row.line_no,
                column,
                f"holds a control character (U+{ord(match.group()):04X}); the file is damaged",
            )
