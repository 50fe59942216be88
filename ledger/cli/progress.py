"""Progress for long commands (demo, bulk post, batch reports, imports, accrual runs).

On a terminal: a rich progress bar when the amount of work is known, a spinner when it is not. Piped, or
under CI, it stays silent, so logs and scripts see only the command's own output.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass
class Progress:
    """``advance`` moves the bar; ``note`` says what is being done now."""

    _bar: Any = None
    _task: Any = None

    def advance(self, steps: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, steps)

    def note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=text)


def interactive() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Progress]:
    if not interactive():
        yield Progress()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    columns.append(TimeElapsedColumn())
    with Bar(*columns, transient=True) as bar:
        yield Progress(bar, bar.add_task(description, total=total))
