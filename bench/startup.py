"""How quickly cunshe starts: CLI commands, the server's readiness and its first statement PDF.

Run: ``.venv/bin/python bench/startup.py [--runs 5] [--scale 0.05]``

Builds a small demo county once (not timed; ``--scale`` of a year's activity) in a temporary directory,
then times, ``--runs`` times each in alternating order, the median beside ``python -c pass`` (the floor
any Python command pays on this machine):

- ``cunshe --help``;
- ``cunshe trial-balance dingzikou 2025-12`` (the county's first community, December);
- ``cunshe verify`` over the whole demo;
- server ready: ``cunshe serve`` started until the first ``GET /healthz`` answers 200 (polled every 10 ms);
- the server's CPU until ready: user + system seconds of the ``cunshe serve`` process when ``/healthz`` first
  answers (``/proc/<pid>/stat``; not its report fork server, a child that imports beside it), the figure to
  compare on a busy machine, where the wall-clock ones mostly measure the others' load;
- first PDF: right after ready, ``GET …/reports/balance-sheet.pdf?period=2025-12`` for dingzikou with the
  demo officer's token (the server warms its report stack in the background meanwhile).

Before the timed runs, one untimed round of the same commands writes Python's bytecode cache (into a
``PYTHONPYCACHEPREFIX`` in the temporary directory, so no checkout is written to, and with
``PYTHONDONTWRITEBYTECODE`` dropped from the environment): an installed wheel has its ``.pyc`` files
compiled at install, and a machine that sets ``PYTHONDONTWRITEBYTECODE`` would otherwise compile every
module of ours from source at each start.

Prints each figure with the machine's load average. Targets (issue 22): ``--help`` ≤ 0.4 s, server ready
≤ 2 s, first PDF ≤ 1 s after ready. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

PY = sys.executable
CUNSHE = str(Path(PY).with_name("cunshe"))
ORG, PERIOD = "dingzikou", "2025-12"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        cmd, env=env, cwd=env["HOME"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    return time.perf_counter() - start


def get(url: str, token: str | None = None, timeout: float = 60) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()
    except OSError:  # not listening yet, or no answer in time
        return 0, b""


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process so far (Linux; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def server_run(env: dict[str, str], org_id: int, token: str) -> tuple[float, float, float]:
    """(seconds until /healthz answers 200, the server's CPU seconds by then, seconds of the first statement
    PDF after that)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [CUNSHE, "serve", "--port", str(port)],
        env=env,
        cwd=env["HOME"],  # outside any checkout: the workers import only the installed code
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while get(f"{base}/healthz", timeout=2)[0] != 200:
            if proc.poll() is not None or time.perf_counter() - start > 120:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        ready = time.perf_counter() - start
        cpu = cpu_seconds(proc.pid)
        pdf_start = time.perf_counter()
        status, body = get(f"{base}/api/v1/orgs/{org_id}/reports/balance-sheet.pdf?period={PERIOD}", token)
        pdf = time.perf_counter() - pdf_start
        if status != 200 or not body.startswith(b"%PDF"):
            raise RuntimeError(f"the statement PDF answered {status}: {body[:300]!r}")
        return ready, cpu, pdf
    finally:
        proc.send_signal(signal.SIGTERM)  # graceful: the worker pool ends with the server
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def build_demo(tmp: Path, scale: float) -> tuple[dict[str, str], int, str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/demo.db", "CI": "1", "HOME": str(tmp)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    subprocess.run([CUNSHE, "init"], env=env, cwd=tmp, check=True, capture_output=True)
    out = subprocess.run(
        [CUNSHE, "demo", "--scale", str(scale), "--statements-dir", str(tmp / "statements")],
        env=env,
        cwd=tmp,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    token = re.search(r"Officer token \(heping\):\s+(\S+)", out)
    if token is None:
        raise RuntimeError("the demo printed no officer token")
    code = (
        "import sys\nfrom ledger.books.orgs import org_by_code\nfrom ledger.cli.options import engine_for\n"
        f"with engine_for(None).connect() as conn:\n    print(org_by_code(conn, {ORG!r}).id)"
    )
    org_id = subprocess.run(
        [PY, "-c", code], env=env, cwd=tmp, check=True, capture_output=True, text=True
    ).stdout
    return env, int(org_id.strip()), token.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=float, default=0.05)
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="cunshe-startup-") as name:
        tmp = Path(name)
        env, org_id, token = build_demo(tmp, args.scale)
        commands: dict[str, Callable[[], float]] = {
            "python -c pass": lambda: timed([PY, "-c", "pass"], env),
            "cunshe --help": lambda: timed([CUNSHE, "--help"], env),
            "cunshe trial-balance": lambda: timed([CUNSHE, "trial-balance", ORG, PERIOD], env),
            "cunshe verify": lambda: timed([CUNSHE, "verify"], env),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        ready: list[float] = []
        ready_cpu: list[float] = []
        first_pdf: list[float] = []
        for run in commands.values():  # untimed: writes the bytecode cache (see the docstring)
            run()
        server_run(env, org_id, token)
        for _ in range(args.runs):  # interleaved, so a burst of load touches every figure alike
            for label, run in commands.items():
                times[label].append(run())
            r, c, p = server_run(env, org_id, token)
            ready.append(r)
            ready_cpu.append(c)
            first_pdf.append(p)
    load_end = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load_start:.2f} at start, {load_end:.2f} at end")
    print(f"median of {args.runs} (min–max), demo at scale {args.scale}:")
    rows = [
        *times.items(),
        ("server ready (first /healthz 200)", ready),
        ("server CPU until ready (own process)", ready_cpu),
        ("first PDF after ready", first_pdf),
    ]
    for label, values in rows:
        print(f"  {label:<40} {statistics.median(values):6.2f} s  ({min(values):.2f}–{max(values):.2f})")


if __name__ == "__main__":
    main()
