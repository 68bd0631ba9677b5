"""Mutation testing of specbound's core, chain simulator and LM verification (on demand).

Each mutant (:mod:`mutants`) replaces one exact snippet of one source file. For each, the
whole ``src/`` tree is copied to a temporary folder, the snippet is replaced there (the
checkout is never touched), and the mutant's test files run with ``PYTHONPATH`` pointing
at the copy, ``-x`` (stop at the first failure) and a timeout. A mutant is *killed* when a
test fails (the first failing test is recorded), *survived* when they all pass.

Usage (from the repository root)::

    python tools/mutate                 # every mutant, results to mutation-results.json
    python tools/mutate --only accept-le residual-0.9
    python tools/mutate --list

Not part of CI: the full run takes ~10-20 minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutants import MUTANTS, Mutant

ROOT = Path(__file__).resolve().parents[2]


def apply(mutant: Mutant, src: Path) -> None:
    """Replace the mutant's snippet (which must occur exactly once) in the copy ``src``."""
    path = src / "specbound" / mutant.file
    text = path.read_text()
    count = text.count(mutant.original)
    if count != 1:
        raise ValueError(f"{mutant.id}: snippet found {count} times in {mutant.file}")
    path.write_text(text.replace(mutant.original, mutant.replacement))


def run_one(mutant: Mutant | None, tests: list[str], timeout: float) -> dict[str, object]:
    """Run ``tests`` against a mutated copy of src/ (``None``: unmutated)."""
    with tempfile.TemporaryDirectory(prefix="specbound-mutant-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("__pycache__"))
        if mutant is not None:
            apply(mutant, src)
        env = dict(
            os.environ,
            PYTHONPATH=str(src),
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            MPLBACKEND="Agg",
            PYTHONDONTWRITEBYTECODE="1",
        )
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-x",
            "-q",
            "-rf",
            "-p",
            "no:cacheprovider",
            *tests,
        ]
        started = time.perf_counter()
        try:
            done = subprocess.run(
                command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return {"status": "timeout", "killed_by": None, "seconds": timeout}
        seconds = round(time.perf_counter() - started, 1)
    output = done.stdout + done.stderr
    failed = re.findall(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", output, flags=re.M)
    if done.returncode == 0:
        return {"status": "survived", "killed_by": None, "seconds": seconds}
    if done.returncode == 1 and failed:
        return {"status": "killed", "killed_by": failed[0], "seconds": seconds}
    tail = output.strip().splitlines()[-3:]
    return {
        "status": "error",
        "killed_by": failed[0] if failed else None,
        "seconds": seconds,
        "detail": tail,
    }


def markdown_table(results: list[dict[str, object]]) -> str:
    """The docs/testing.md table of a results file."""
    lines = ["| mutant | file | what it breaks | result | killed by |", "|---|---|---|---|---|"]
    for r in results:
        status = "equivalent" if r["equivalent"] else r["status"]
        by = str(r["killed_by"] or "").replace("tests/", "").replace("|", "/")
        lines.append(f"| `{r['id']}` | {r['file']} | {r['description']} | {status} | `{by}` |")
    counted = [r for r in results if not r["equivalent"]]
    killed = sum(r["status"] in ("killed", "timeout") for r in counted)
    lines.append("")
    lines.append(
        f"Killed {killed} of {len(counted)} non-equivalent mutants "
        f"({100 * killed / max(len(counted), 1):.0f}%); "
        f"{len(results) - len(counted)} equivalent."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/mutate", description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these mutants")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="first check that every test subset passes unmutated",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "mutation-results.json")
    parser.add_argument(
        "--table",
        type=Path,
        metavar="JSON",
        help="print a results file as a markdown table and exit",
    )
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table(json.loads(args.table.read_text())))
        return 0
    chosen = [m for m in MUTANTS if not args.only or m.id in args.only]
    if args.list:
        for m in chosen:
            mark = " (equivalent)" if m.equivalent else ""
            print(f"{m.id:24s} {m.file:22s} {m.description}{mark}")
        return 0
    if args.baseline:
        for tests in sorted({m.tests for m in chosen}):
            result = run_one(None, list(tests), args.timeout)
            print(f"baseline {result['status']:9s} {' '.join(tests)}", flush=True)
            if result["status"] != "survived":
                return 1
    results = []
    for m in chosen:
        result = {
            "id": m.id,
            "file": m.file,
            "description": m.description,
            "equivalent": m.equivalent,
            **run_one(m, list(m.tests), args.timeout),
        }
        results.append(result)
        print(
            f"{m.id:24s} {result['status']:9s} {result['seconds']:6}s {result['killed_by'] or ''}",
            flush=True,
        )
    counted = [r for r in results if not r["equivalent"]]
    killed = sum(r["status"] in ("killed", "timeout") for r in counted)
    print(
        f"killed {killed}/{len(counted)} non-equivalent mutants "
        f"({len(results) - len(counted)} equivalent)"
    )
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
