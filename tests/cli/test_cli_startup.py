"""Start-up stays quick: what importing the CLI and the app may load, checked by module, not by clock.

``bench/startup.py`` measures the times; these tests keep the structure that makes them small: pandas,
matplotlib, WeasyPrint (and the other heavy libraries) are imported where they are used, and
``cunshe --help`` imports no workflow command module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ledger.cli.lazy import first_line
from ledger.cli.main import Commands, app

HEAVY = ("pandas", "numpy", "matplotlib", "weasyprint", "openpyxl", "pypinyin", "alembic")


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_and_the_app_loads_no_heavy_library() -> None:
    loaded = _loaded_after("import ledger.cli.main\nimport ledger.app")
    assert "ledger.app" in loaded and "ledger.cli.main" in loaded  # the probe imported what it says
    assert sorted(m for m in HEAVY if m in loaded) == []


def test_a_command_that_shows_no_help_loads_no_markdown() -> None:
    """Only --help needs typer's rich help (its Markdown stack): ``cunshe serve``, ``trial-balance`` and the
    others start without it."""
    loaded = _loaded_after("import ledger.cli.main")
    assert "typer.rich_utils" not in loaded and "markdown_it" not in loaded


def test_building_the_app_loads_no_heavy_library() -> None:
    loaded = _loaded_after(
        "from ledger.app import create_app\nfrom ledger.settings import Settings\n"
        "create_app(Settings(database_url='sqlite://', secret_key='x' * 32))"
    )
    assert "fastapi" in loaded
    assert sorted(m for m in HEAVY if m in loaded) == []
    # cryptography (the checkpoint key) is imported by the first /verify look-up, not at start
    assert "cryptography" not in loaded


def test_books_at_the_newest_revision_start_without_alembic(tmp_path: Path) -> None:
    """``cunshe serve`` checks the schema at each start: at the heads, one query and no Alembic import."""
    url = f"sqlite:///{tmp_path / 'books.db'}"
    setup = "from ledger.db.engine import make_engine\nfrom ledger.db.migrate import upgrade\n"
    subprocess.run([sys.executable, "-c", f"{setup}upgrade(make_engine({url!r}))"], check=True, timeout=120)
    loaded = _loaded_after(f"{setup}upgrade(make_engine({url!r}))")
    assert "ledger.db.migrate" in loaded and "sqlalchemy" in loaded
    assert "alembic" not in loaded


def test_cunshe_help_imports_no_workflow_command_nor_model() -> None:
    loaded = _loaded_after(
        "from ledger.cli.main import app\n"
        "try:\n    app(['--help'], prog_name='cunshe')\nexcept SystemExit:\n    pass"
    )
    assert "ledger.cli.main" in loaded
    later = {"ledger.cli.pos", "ledger.cli.leases", "ledger.cli.reconcile", "ledger.db.models", "sqlalchemy"}
    assert sorted(later & loaded) == []


def test_a_lazy_command_is_listed_with_its_own_help_line() -> None:
    """The help line ``cunshe --help`` shows without importing a command is the command's own."""
    from typer.main import get_group

    group = get_group(app)
    assert isinstance(group, Commands)
    for name, command in group.load_all().items():
        assert first_line(command.help) == Commands.lazy[name].help, name


def test_a_lazy_command_runs() -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["close-period", "--help"])
    assert result.exit_code == 0, result.output
    assert "结账" in result.output


def test_no_module_whose_signatures_fastapi_reads_postpones_its_annotations() -> None:
    """FastAPI reads every route's and dependency's signature when the app is built; postponed (string)
    annotations make it compile and evaluate each one (~3,000, ~0.1 s of the start), so the modules that
    declare routes or dependencies keep their annotations as objects."""
    root = Path(__file__).resolve().parents[2]
    readers = ("APIRouter(", "Depends(", "FastAPI(")  # not typer's @app.command: it may postpone
    postponed = [
        str(path.relative_to(root))
        for package in ("ledger", "pos", "reports")
        for path in sorted((root / package).rglob("*.py"))
        if any(r in (text := path.read_text(encoding="utf-8")) for r in readers)
        and "from __future__ import annotations" in text
    ]
    assert postponed == []


def _probe(code: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        env={**os.environ, **env},
    )
    return done.stdout.strip().splitlines()[-1]


def test_the_served_app_freezes_the_start_up_heap_and_turns_the_collector_back_on() -> None:
    """``cunshe serve`` imports with the collector paused; its uvicorn factory turns it on again."""
    code = (
        "import gc\ngc.disable()\nfrom ledger.app import serve_app\nserve_app()\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 100_000)"
    )
    assert _probe(code, DATABASE_URL="sqlite://", CUNSHE_SECRET_KEY="x" * 32) == "True True"


def test_the_report_fork_servers_warm_up_turns_the_collector_back_on() -> None:
    """The fork server is a fork of the paused ``cunshe serve``: its workers must collect as usual."""
    code = "import gc\ngc.disable()\nfrom reports.builders_batch import warm_process\nwarm_process()\n"
    assert _probe(code + "print(gc.isenabled())") == "True"
