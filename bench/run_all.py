"""``make bench``: run every ``bench/bench_*.py`` and rewrite bench/RESULTS.md.

Each bench module exposes ``run() -> str`` returning a Markdown section whose figures are ratios against
a baseline measured in the same run (this machine is shared and noisy, so absolute numbers drift; the
ratios are what we track). Benchmarks may read ``../shared/data`` and skip with a note when it is absent.
Usage: python -m bench.run_all [--only NAME ...] [--out bench/RESULTS.md]
(with ``--only``, the named sections are replaced and the others kept, each naming the commit it ran at).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import logging
import os
import platform
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def machine_description() -> str:
    """CPU model, core count, memory, OS, Python and torch versions (when installed)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    parts = [f"{cpu}, {os.cpu_count()} logical cores{mem}", f"{platform.system()} {platform.release()}"]
    parts.append(f"Python {platform.python_version()}")
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
        parts.append(f"torch {torch.__version__} ({gpu})")
    except ImportError:
        pass
    return "; ".join(parts)


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def discover() -> list[str]:
    return sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))


def run_one(name: str) -> tuple[str, float]:
    """Run one bench module; a failure becomes a visible section, never a silent gap."""
    start = time.perf_counter()
    try:
        section = importlib.import_module(f"bench.{name}").run()
    except Exception:  # noqa: BLE001 - any bench failure is reported in RESULTS.md and the exit status
        section = f"## {name}\n\n**FAILED**:\n\n```\n{traceback.format_exc()[-3000:]}\n```\n"
    return section.rstrip() + "\n", time.perf_counter() - start


TRAILER = re.compile(r"^_(bench_\w+) took \d+ s[^_]*\._$", re.MULTILINE)
"""The line that ends every section: ``_bench_x took 12 s._`` (with the commit since sections can be refreshed
one at a time)."""


def split_sections(text: str) -> dict[str, str]:
    """An earlier RESULTS.md's sections by bench name: each runs from its ``## `` heading to its trailer."""
    sections: dict[str, str] = {}
    start = text.find("\n## ")
    for match in TRAILER.finditer(text):
        if start < 0 or start > match.start():
            continue
        sections.setdefault(match.group(1), text[start : match.end()].strip() + "\n")
        start = text.find("\n## ", match.end())
    return sections


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        help="bench module names (default: all bench_*.py); the other sections of --out are kept as they were",
    )
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "RESULTS.md", help="results file to rewrite")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    names = args.only or discover()
    kept = split_sections(args.out.read_text(encoding="utf-8")) if args.only and args.out.exists() else {}
    commit = git_commit()
    sections: dict[str, str] = {}
    failed = []
    for name in names:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        section, seconds = run_one(name)
        if "**FAILED**" in section:
            failed.append(name)
        sections[name] = section + f"\n_{name} took {seconds:.0f} s at commit {commit}._\n"
        print(f"[bench] {name} done in {seconds:.0f} s", file=sys.stderr, flush=True)
    merged = {**kept, **sections}
    refreshed = "every section" if not kept else "the sections " + ", ".join(sorted(sections))
    header = [
        "# kgtext benchmark results",
        "",
        "Rewritten by every `make bench` run. Figures are ratios against a baseline measured in the same run.",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} ({refreshed}; each section names "
        "the commit it ran at)",
        f"- machine: {machine_description()}",
        f"- command: `python -m bench.run_all {' '.join(argv or sys.argv[1:])}`".rstrip() + "",
        f"- commit: {commit}",
        "",
    ]
    body = "\n".join(merged[name] for name in sorted(merged))
    args.out.write_text("\n".join(header) + "\n" + body, encoding="utf-8")
    print(f"[bench] wrote {args.out}", file=sys.stderr)
    if failed:
        print(f"[bench] FAILED: {', '.join(failed)}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
