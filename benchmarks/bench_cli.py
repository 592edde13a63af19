"""Time what users feel: ``opencode --list-sessions`` and TAB completion of a session id.

Builds data folders with 1,000 and 10,000 sessions once (under ``benchmarks/.data/``, which is
git-ignored), then times whole processes against ``python -c pass`` on the same machine and
prints a Markdown table of medians and ratios.

    python benchmarks/bench_cli.py [--runs 15] [--rebuild]

Byte-code caching is switched on for the timed processes (into ``benchmarks/.data/pycache``)
because an installed opencode has its ``.pyc`` files; ``PYTHONDONTWRITEBYTECODE`` would
otherwise make every run recompile the project's sources.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

from opencode.sessions import Session, SessionMessage
from opencode.sessions.fileio import dumps_json

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
SIZES = (1_000, 10_000)
WORDS = [
    "refactor",
    "api",
    "client",
    "parser",
    "auth",
    "bug",
    "fix",
    "tests",
    "docs",
    "cache",
    "index",
    "session",
    "storage",
    "completion",
    "table",
    "review",
    "migrate",
    "schema",
    "deploy",
    "logging",
    "metrics",
    "config",
    "cli",
]


def build_data_folder(root: Path, count: int, seed: int = 7) -> None:
    """``count`` small but realistic sessions and their index, written directly (fast)."""
    sessions_dir = root / "sessions"
    if root.exists():
        shutil.rmtree(root)
    sessions_dir.mkdir(parents=True, mode=0o700)
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    index: dict[str, dict[str, object]] = {}
    for n in range(count):
        updated = now - timedelta(minutes=rng.randrange(0, 400 * 24 * 60))
        created = updated - timedelta(minutes=rng.randrange(1, 600))
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(2, 6))).capitalize()
        session = Session(
            title=title,
            working_dir=f"/home/user/project{n % 40}",
            model="anthropic/claude-3-opus",
            created_at=created,
            updated_at=updated,
            tags=rng.sample(WORDS, rng.randrange(0, 3)),
        )
        session.messages = [
            SessionMessage(role="user", content=title, timestamp=created),
            SessionMessage(role="assistant", content=f"Working on: {title}.", timestamp=updated),
        ]
        session.total_prompt_tokens = rng.randrange(100, 5000)
        session.total_completion_tokens = rng.randrange(100, 3000)
        path = sessions_dir / f"{session.id}.json"
        path.write_bytes(dumps_json(session.to_dict()))
        path.chmod(0o600)
        entry = session.summary().to_dict()
        del entry["id"]
        index[session.id] = entry
    index_file = sessions_dir / "index.json"
    index_file.write_bytes(dumps_json({"version": 1, "sessions": index}))
    index_file.chmod(0o600)


def ensure_data(rebuild: bool) -> dict[int, Path]:
    folders = {}
    for count in SIZES:
        root = DATA / f"sessions-{count}"
        marker = root / "sessions" / "index.json"
        if rebuild or not marker.exists():
            started = time.perf_counter()
            build_data_folder(root, count)
            print(
                f"built {count} sessions in {time.perf_counter() - started:.1f} s", file=sys.stderr
            )
        folders[count] = root
    return folders


def run_once(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        command, check=False, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{command} failed: {result.stderr.decode()}")
    return elapsed


def median_ms(cases: list[tuple[str, list[str], dict[str, str]]], runs: int) -> dict[str, float]:
    """Medians per case; the cases take turns so background load affects them alike."""
    for _, command, env in cases:  # warm the page cache and the byte-code cache
        for _ in range(2):
            run_once(command, env)
    times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for _ in range(runs):
        for name, command, env in cases:
            times[name].append(run_once(command, env))
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--rebuild", action="store_true", help="Rebuild the data folders.")
    options = parser.parse_args()

    folders = ensure_data(options.rebuild)
    opencode = shutil.which("opencode", path=str(Path(sys.executable).parent)) or shutil.which(
        "opencode"
    )
    if opencode is None:
        raise SystemExit("the opencode command is not installed in this environment")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("_OPENCODE", "COMP_"))}
    base_env.pop("PYTHONDONTWRITEBYTECODE", None)
    base_env["PYTHONPYCACHEPREFIX"] = str(DATA / "pycache")
    base_env.pop("NO_COLOR", None)

    def env_for(count: int, **extra: str) -> dict[str, str]:
        return {**base_env, "OPENCODE_DATA_DIR": str(folders[count]), **extra}

    some_id = orjson.loads((folders[10_000] / "sessions" / "index.json").read_bytes())["sessions"]
    prefix = next(iter(some_id))[:2]
    complete_env = env_for(
        10_000,
        _OPENCODE_COMPLETE="complete_bash",
        COMP_WORDS=f"opencode session show {prefix}",
        COMP_CWORD="3",
    )
    cases = [
        ("python -c pass", [sys.executable, "-c", "pass"], env_for(1_000)),
        ("opencode --list-sessions (1,000)", [opencode, "--list-sessions"], env_for(1_000)),
        ("opencode --list-sessions (10,000)", [opencode, "--list-sessions"], env_for(10_000)),
        (f"complete `opencode session show {prefix}` (10,000)", [opencode], complete_env),
    ]
    results = median_ms(cases, options.runs)
    baseline = results["python -c pass"]
    print(
        f"Median of {options.runs} runs, {sys.platform}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs\n"
    )
    print("| command | median ms | x `python -c pass` |")
    print("|---|---:|---:|")
    for name, ms in results.items():
        print(f"| {name} | {ms:.1f} | {ms / baseline:.1f} |")
    ratio = (
        results["opencode --list-sessions (10,000)"] / results["opencode --list-sessions (1,000)"]
    )
    print(f"\n`--list-sessions` 10,000 / 1,000 sessions: {ratio:.2f}x")


if __name__ == "__main__":
    main()
