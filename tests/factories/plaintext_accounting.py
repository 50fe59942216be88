"""What hledger and ledger-cli (the Debian packages ``make setup`` installs) say our export's balances are.

Each tool loads the ``cunshe export --format hledger`` text on its own and prints every account's balance;
the tests compare those with our 科目余额表. A tool that is missing is a failure, not a skip: ``make test``
installs both.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

TOOLS = ("hledger", "ledger")


def balances(tool: str, journal: Path) -> dict[str, Decimal]:
    """Every account's balance in CNY as ``tool`` computes it from the journal file (zero ones left out)."""
    exe = shutil.which(tool)
    assert exe, f"{tool} is not installed: `make setup` installs it (Debian package {tool})"
    if tool == "hledger":
        args = [exe, "-f", str(journal), "balance", "--flat", "--no-total", "-O", "csv"]
    else:
        args = [exe, "-f", str(journal), "balance", "--flat", "--no-total", "--balance-format",
                "%(account)\t%(quantity(display_total))\n"]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    found: dict[str, Decimal] = {}
    if tool == "hledger":
        rows = list(csv.reader(io.StringIO(done.stdout)))
        assert rows[0] == ["account", "balance"], rows[:1]
        for account, amount in rows[1:]:
            number, _, commodity = amount.partition(" ")
            assert commodity in ("CNY", ""), amount
            found[account] = Decimal(number.replace(",", ""))
    else:
        for row in done.stdout.splitlines():
            account, _, number = row.rpartition("\t")
            found[account] = Decimal(number.replace(",", ""))
    return {account: amount for account, amount in found.items() if amount}
