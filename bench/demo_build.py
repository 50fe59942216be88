"""How long the demo county takes to build: ``build_demo`` on a fresh SQLite file, as ``cunshe demo`` (and so
``make run``) builds it, with each phase's CPU and wall time.

Run: ``.venv/bin/python bench/demo_build.py [--scale 1.0] [--profile out.prof] [--before PYTHON]``

The phases are the build's own progress notes (each lasts until the next note). CPU is this process's
``time.process_time`` (the build is one process; the machine is shared, so CPU is the steadier figure),
printed beside wall time and the load average. ``--before PYTHON`` runs the same script with another
interpreter at the same time, side by side (e.g. ``/work/main/.venv/bin/python``, whose editable install is
the code before a change), and prints the ratio of the two builds. Each build's four published figures are
printed as the build checked them (✓: to the fen). ``--profile`` writes cProfile's stats of the build
(slower: compare profiled runs only with each other).

Target (issue 19): the full build ≤ 120 s on this class of machine (2 cores). Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import cast


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def build(scale: float, profile: str | None) -> dict[str, object]:
    home = Path(tempfile.mkdtemp(prefix="cunshe-demo-bench-"))
    os.environ.setdefault("CUNSHE_SIGNING_KEY_FILE", str(home / "checkpoints.signing-key"))
    from ledger.access.signing_key import ensure_key_file
    from ledger.db.engine import make_engine
    from ledger.db.migrate import upgrade
    from ledger.demo.build import build_demo
    from ledger.workflows import start

    start()
    ensure_key_file(Path(os.environ["CUNSHE_SIGNING_KEY_FILE"]))
    engine = make_engine(f"sqlite:///{home / 'cunshe.db'}")
    upgrade(engine)
    phases: list[list[object]] = []
    marks = [("start", time.process_time(), time.perf_counter())]

    def note(message: str) -> None:
        name, cpu, wall = marks[-1]
        now_cpu, now_wall = time.process_time(), time.perf_counter()
        phases.append([name, now_cpu - cpu, now_wall - wall])
        marks.append((message, now_cpu, now_wall))
        print(f"  {now_wall - marks[0][2]:7.1f} s  {message}", file=sys.stderr, flush=True)

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    load_before = load()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = build_demo(
        engine, year=2025, seed=2025, scale=scale, statements_dir=home / "demo-statements", progress=note
    )
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    note("end")
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(profile))
    engine.dispose()
    return {
        "cpu": cpu,
        "wall": wall,
        "phases": phases[1:],
        "load_before": load_before,
        "load_after": load(),
        "python": sys.executable,
        "figures": [n for n in result.notes if "✓" in n or "✗" in n],
    }


def merge(phases: list[list[object]]) -> dict[str, tuple[float, float]]:
    """Phases by name, with the year stripped so that both years of a phase add up."""
    out: dict[str, tuple[float, float]] = {}
    for name, cpu, wall in phases:
        key = re.sub(r"\b20\d\d(-\d\d)?\b", "YYYY", str(name))
        old = out.get(key, (0.0, 0.0))
        out[key] = (old[0] + float(cpu), old[1] + float(wall))  # type: ignore[arg-type]
    return out


def show(result: dict[str, object], label: str) -> None:
    print(f"{label}: {result['python']}")
    print(f"  full build: {result['cpu']:.1f} s CPU, {result['wall']:.1f} s wall")
    print(f"  ({result['load_before']} before, {result['load_after']} after)")
    rows = sorted(merge(cast(list[list[object]], result["phases"])).items(), key=lambda kv: -kv[1][0])
    for name, (cpu, wall) in rows:
        print(f"  {cpu:7.1f} s CPU {wall:7.1f} s wall  {name}")
    for line in cast(list[str], result["figures"]):
        print(f"  {line.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--profile", help="write cProfile stats here")
    parser.add_argument("--before", help="another interpreter to build with, side by side")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    other = None
    if args.before:  # side by side, so that both builds see the same load
        other = subprocess.Popen(
            [args.before, __file__, "--json", "--scale", str(args.scale)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd="/",
        )
    mine = build(args.scale, args.profile)
    if args.json:
        print(json.dumps(mine, ensure_ascii=False))
        return
    show(mine, "this code")
    if other is not None:
        out, _ = other.communicate()
        if other.returncode:
            raise SystemExit(f"the build with {args.before} failed")
        before = json.loads(out.strip().splitlines()[-1])
        show(before, "before")
        print(
            f"ratio before/this: {before['cpu'] / mine['cpu']:.2f}x CPU, "
            f"{before['wall'] / mine['wall']:.2f}x wall"
        )


if __name__ == "__main__":
    main()
