"""``session export -o`` to special files, and ``session show`` of a huge message.

An export to a FIFO, a device node or a link to one is streamed into it, never renamed over it
(as root, ``-o /dev/null`` must not replace the system's /dev/null). ``session show`` renders a
message of several megabytes in time linear in its length; the test counts the work Rich does
instead of timing it.
"""

from __future__ import annotations

import os
import random
import stat
import string
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import make_session, run_opencode

from opencode.sessions import Session, SessionMessage

WAIT = 60.0  # an upper bound for a child to finish, never a speed assertion
NEEDS_ROOT = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="device nodes need root"
)


def export(*args: str) -> tuple[str, str]:
    """``opencode session export ARGS`` as a real process: exit 0 and no traceback."""
    result = run_opencode("session", "export", *args)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr


def expected_markdown(session_id: str) -> str:
    stdout, _ = export(session_id)
    return stdout


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


class FifoReader:
    """A child that reads a FIFO to its end: ``cat``, so nothing in this process can block."""

    def __init__(self, fifo: Path) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; sys.stdout.buffer.write(open(sys.argv[1], 'rb').read())",
                str(fifo),
            ],
            stdout=subprocess.PIPE,
        )

    def result(self) -> bytes:
        out, _ = self.proc.communicate(timeout=WAIT)
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=WAIT)


def device_node(path: Path) -> Path:
    """A private copy of /dev/null (char 1:3) at ``path``; skips if this system forbids it."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("cannot create device nodes here")
    return path


def assert_null_device(path: Path) -> None:
    info = os.lstat(path)
    assert stat.S_ISCHR(info.st_mode), f"{path} is no longer a character device"
    assert (os.major(info.st_rdev), os.minor(info.st_rdev)) == (1, 3)


# -- export to special files ------------------------------------------------------------------


def test_export_to_a_fifo_streams_into_it(tmp_path: Path) -> None:
    session = make_session(
        "Through a pipe", messages=[("user", "hello"), ("assistant", "x" * 300_000)]
    )
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = FifoReader(fifo)
    try:
        _, err = export(session.id, "-o", str(fifo))
        still_a_fifo = stat.S_ISFIFO(os.lstat(fifo).st_mode)
    finally:
        if not stat.S_ISFIFO(os.lstat(fifo).st_mode):
            reader.stop()  # the FIFO was replaced: nobody will ever write to the reader
    assert still_a_fifo, "the FIFO was replaced by a regular file"
    assert reader.result().decode() == expected_markdown(session.id)
    assert str(fifo) in err
    assert leftovers(tmp_path) == []


def test_export_through_a_link_to_a_fifo_keeps_the_link(tmp_path: Path) -> None:
    session = make_session("Linked pipe", messages=[("user", "hello")])
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    link.symlink_to(fifo)
    reader = FifoReader(fifo)
    try:
        export(session.id, "-o", str(link))
    finally:
        if not stat.S_ISLNK(os.lstat(link).st_mode):
            reader.stop()
    assert os.readlink(link) == str(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert reader.result().decode() == expected_markdown(session.id)


def test_export_through_a_link_to_a_regular_file_keeps_the_link(tmp_path: Path) -> None:
    session = make_session("Linked file", messages=[("user", "hello")])
    target = tmp_path / "real.md"
    target.write_text("an older, longer export " * 100)
    link = tmp_path / "link.md"
    link.symlink_to(target)

    export(session.id, "-o", str(link))

    assert os.readlink(link) == str(target)
    assert target.read_text() == expected_markdown(session.id)


def test_export_to_the_stdout_of_the_process_through_a_proc_link(tmp_path: Path) -> None:
    """Like ``-o /dev/stdout``, with a link of our own so nothing in /dev is at stake."""
    session = make_session("To my stdout", messages=[("user", "hello")])
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")

    out, _ = export(session.id, "-o", str(link))

    assert os.readlink(link) == "/proc/self/fd/1"
    assert out == expected_markdown(session.id)


@NEEDS_ROOT
def test_export_to_a_device_node_writes_into_it(tmp_path: Path) -> None:
    session = make_session("Into the void", messages=[("user", "hello")])
    node = device_node(tmp_path / "null")
    link = tmp_path / "null-link"
    link.symlink_to(node)

    export(session.id, "-o", str(node))
    assert_null_device(node)
    export(session.id, "-o", str(link))
    assert_null_device(node)
    assert os.readlink(link) == str(node)
    assert leftovers(tmp_path) == []

    # Only now, with streaming proven on a node of our own, the system's /dev/null.
    export(session.id, "-o", "/dev/null")
    assert_null_device(Path("/dev/null"))


def test_export_to_a_regular_file_is_still_atomic(tmp_path: Path) -> None:
    session = make_session("Atomic", messages=[("user", "hello")])
    target = tmp_path / "out.md"
    target.write_text("old export\n")
    other_name = tmp_path / "same-file.md"
    os.link(target, other_name)

    export(session.id, "-o", str(target))

    assert target.read_text() == expected_markdown(session.id)
    assert other_name.read_text() == "old export\n"  # renamed into place, never truncated


def test_a_fifo_whose_reader_leaves_is_one_error_line(tmp_path: Path) -> None:
    session = make_session("Nobody listens", messages=[("assistant", "y" * 2_000_000)])
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(
        [sys.executable, "-c", "import sys; open(sys.argv[1], 'rb').read(10)", str(fifo)]
    )
    try:
        result = run_opencode("session", "export", session.id, "-o", str(fifo))
    finally:
        if not stat.S_ISFIFO(os.lstat(fifo).st_mode):
            reader.kill()  # the FIFO was replaced: nobody will ever write to the reader
        reader.wait(timeout=WAIT)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1
    assert result.stderr.startswith("error: "), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


# -- show of a huge message -------------------------------------------------------------------


def huge_line(size: int, seed: int = 1) -> str:
    """One line of ``size`` characters: words of every length, a few far wider than a screen."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "é"
    words: list[str] = []
    total = 0
    while total < size:
        length = rng.choice([1, 3, 5, 8, 13, 40, 300])
        words.append("".join(rng.choices(alphabet, k=length)))
        total += length + 1
    return " ".join(words)[:size]


def without_whitespace(text: str) -> str:
    return "".join(text.split())


def test_show_prints_all_of_a_4_mb_single_line_message() -> None:
    content = huge_line(4_000_000)
    session = make_session("Huge", messages=[("user", "dump it"), ("assistant", content)])

    result = run_opencode("session", "show", session.id)

    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    shown = without_whitespace(result.stdout)
    assert without_whitespace(content) in shown
    assert max(len(line) for line in result.stdout.splitlines()) <= 120  # wrapped to COLUMNS


def _lines_split(segments: Iterable[Any], tally: list[int]) -> Iterator[Any]:
    """Pass segments on, adding to ``tally`` the characters cutting them at newlines copies.

    Rich cuts a segment that holds several lines with ``str.partition``, copying everything
    after each newline: a segment holding all of a long message's lines costs its length
    times its line count.
    """
    for segment in segments:
        text = segment.text
        if not segment.control:
            at = text.find("\n")
            while at != -1:
                tally[0] += len(text) - at
                at = text.find("\n", at + 1)
        yield segment


def rendering_work(session: Session) -> int:
    """Characters Rich copies while cutting ``session show``'s output into lines."""
    from rich.console import Console
    from rich.segment import Segment

    from opencode.cli import views

    tally = [0]
    original: Callable[..., Any] = Segment.split_and_crop_lines.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Segment], segments: Iterable[Segment], *args: Any, **kwargs: Any) -> Any:
        return original(cls, _lines_split(segments, tally), *args, **kwargs)

    out = StringIO()
    console = Console(
        file=out, width=120, markup=False, highlight=False, emoji=False, no_color=True
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Segment, "split_and_crop_lines", classmethod(counting))
        views.print_session(console, session)
    assert without_whitespace(session.messages[-1].content) in without_whitespace(out.getvalue())
    return tally[0]


def test_show_does_work_linear_in_the_length_of_one_line() -> None:
    sizes = (500_000, 1_000_000)
    work = []
    for size in sizes:
        session = Session(title="Huge")
        session.messages.append(SessionMessage(role="assistant", content=huge_line(size)))
        work.append(rendering_work(session))
    small, large = work
    assert large <= 2.2 * small, work  # quadratic work would be about four times as much
    assert large <= sizes[1], work  # and it stays below one copy of the message
