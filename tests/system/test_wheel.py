"""cunshe as a real package: the wheel, installed (not editable) outside the checkout, works anywhere.

Builds the wheel (``pip wheel --no-deps --no-build-isolation --no-index``: with the development
virtualenv's own setuptools and wheel, which the ``dev`` extra installs, so no package index is asked and
the test passes offline), makes a fresh virtualenv in a temporary directory and installs the wheel into it
with ``--no-deps --no-index``. The dependencies are not downloaded again (the suite may run offline, and it
would take minutes): the new virtualenv sees the development virtualenv's third-party
packages through a ``.pth`` file naming a folder of links to them, *without* the editable install's
finder and metadata (``__editable__*``, ``cunshe_ledger-*.dist-info``) — so ``ledger``, ``pos`` and
``reports`` can come only from the wheel, and the test checks that they do. Then, from a temporary
working directory: ``cunshe init``, ``cunshe demo`` (a small county), ``cunshe report`` writes a statement
PDF that pdfplumber reads back, and ``cunshe serve`` answers the login page and the API docs' stylesheet
(the page templates and the docs' files are package data too).

About a minute; it runs in ``make test`` like every other test.
"""

from __future__ import annotations

import io
import os
import signal
import site
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pdfplumber
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
EDITABLE = ("__editable__", "cunshe_ledger-", "__pycache__")


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done  # type: ignore[no-any-return]


def dependencies_without_the_checkout(folder: Path) -> Path:
    """Links to the development virtualenv's installed packages, less the editable install of this one."""
    folder.mkdir()
    for packages in site.getsitepackages():
        for entry in Path(packages).iterdir():
            if not entry.name.startswith(EDITABLE) and not (folder / entry.name).exists():
                (folder / entry.name).symlink_to(entry)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_wheel_installs_and_works_outside_the_checkout(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    offline = ["--no-deps", "--no-index", "-q"]  # nothing from a package index: CI may have no network
    build = ["wheel", *offline, "--no-build-isolation", "-w", str(wheels), str(ROOT)]
    run([sys.executable, "-m", "pip", *build])
    (wheel,) = wheels.glob("cunshe_ledger-*.whl")

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = Path(
        run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
    )
    deps = dependencies_without_the_checkout(tmp_path / "deps")
    (purelib / "dependencies.pth").write_text(f"import site; site.addsitedir({str(deps)!r})\n")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", *offline, str(wheel)])

    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "DATABASE_URL")}
    env |= {"DATABASE_URL": f"sqlite:///{home}/cunshe.db", "CI": "1", "HOME": str(home)}
    where = run(
        [
            str(python),
            "-c",
            "import ledger, pos, reports, ledger.templates as t; print(ledger.__file__, t.__file__)",
        ],
        cwd=home,
        env=env,
    ).stdout
    assert str(purelib) in where and str(ROOT) not in where, where  # the wheel's code, not the checkout's

    cunshe = str(venv / "bin" / "cunshe")
    run([cunshe, "init"], cwd=home, env=env)
    demo = run([cunshe, "demo", "--scale", "0.02"], cwd=home, env=env).stdout
    assert "demo county 2025 built" in demo
    run(
        [cunshe, "report", "balance-sheet", "--org", "dingzikou", "--period", "2025-12", "--out", "bs.pdf"],
        cwd=home,
        env=env,
    )
    with pdfplumber.open(io.BytesIO((home / "bs.pdf").read_bytes())) as pdf:
        text = "".join(page.extract_text() or "" for page in pdf.pages)
    assert "资产负债表" in text.replace(" ", "") and "编制单位：丁字口社区" in text and "货币资金" in text

    port = free_port()
    server = subprocess.Popen(
        [cunshe, "serve", "--port", str(port)],
        cwd=home,
        env=env | {"CUNSHE_WARM_REPORTS": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "cunshe serve did not start"
                time.sleep(0.1)
        with urllib.request.urlopen(f"{base}/web/login", timeout=10) as page:
            login = page.read().decode()
        assert 'name="csrf_token"' in login
        assert "登录工作台" in login and "login_title" not in login  # the words from the wheel's catalogue
        with urllib.request.urlopen(f"{base}/web/login?lang=en", timeout=10) as page:
            assert "Log in to the workbench" in page.read().decode()
        with urllib.request.urlopen(f"{base}/static-offline-docs/swagger-ui.css", timeout=10) as css:
            assert css.status == 200
        with urllib.request.urlopen(f"{base}/till/?lang=en", timeout=10) as till:  # so is the till's page
            assert "Cashier login" in till.read().decode()
        try:  # the public checkpoint page's template is package data too
            urllib.request.urlopen(f"{base}/verify/0000000000", timeout=10)
        except urllib.error.HTTPError as unknown:
            assert unknown.code == 404 and "No checkpoint has this code" in unknown.read().decode()
        else:
            raise AssertionError("an unknown checkpoint code is a 404 page")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
