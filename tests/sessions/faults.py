"""Fault injection for the session store, in the spirit of SQLite's crash and I/O-error tests.

* ``OsShim`` swaps the ``os`` functions that change files (``open`` with ``O_CREAT`` or
  ``O_TRUNC``, ``write``/``pwrite``/``writev``, ``ftruncate``/``truncate``, ``fsync``,
  ``fdatasync``, ``link``, ``rename``, ``replace``, ``unlink``/``remove``) for wrappers that
  count the calls aimed at one folder and, at the k-th, kill the process (just before the
  call or just after it) or raise an ``OSError``. It patches ``os`` itself, not the library's
  helpers, so it keeps working whatever the library's internals become; calls made from C
  (SQLite, ``open()``/``Path.write_bytes``) go unseen.
* ``PowerCutModel`` (fed by the shim) says what a power cut at that moment would leave:
  only what was fsynced. A killed process keeps the page cache; a power cut does not.
* ``run_forked`` runs a function in a child forked from the warm test process (a
  millisecond, not an interpreter start) and says how the child ended, with the JSON notes it
  sent back through a pipe.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import signal
import stat
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

Action = Literal["crash-before", "crash-after", "error"]
Note = dict[str, Any]
Send = Callable[[Note], None]

# The calls that change what is on disk; ``os.remove`` is ``os.unlink`` by another name.
PATCHED: Final = (
    "open",
    "close",
    "write",
    "pwrite",
    "writev",
    "ftruncate",
    "truncate",
    "fsync",
    "fdatasync",
    "link",
    "rename",
    "replace",
    "unlink",
    "remove",
)
CRASH_EXIT: Final = 86  # used only if SIGKILL to ourselves somehow returns
CHILD_FAILED: Final = 70  # the child's own code (not the operation under test) raised
WATCHDOG_SECONDS: Final = 120  # a hung child is killed by SIGALRM instead of hanging the suite

_REAL_WRITE: Final = os.write
_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MKSTEMP_PART: Final = re.compile(r"\.[A-Za-z0-9_]{8}\.tmp$")


@dataclass(frozen=True)
class Call:
    """One counted call: its kind (``fsync``) and what it targets (``json.tmp``, ``folder``)."""

    kind: str
    target: str

    def __str__(self) -> str:
        return f"{self.kind}({self.target})"


@dataclass(frozen=True)
class Fault:
    """What to do at the ``k``-th counted call (1-based)."""

    k: int
    action: Action
    errno: int = 0


def file_role(path: str, folder: str) -> str:
    """A stable name for a file of the store: ``json``, ``jsonl``, ``json.tmp``, ``folder``...

    Session ids and ``mkstemp``'s random part are dropped, so the same step of the same
    operation has the same name in every run.
    """
    if path == folder:
        return "folder"
    name = os.path.basename(path)
    name = _MKSTEMP_PART.sub(".tmp", name)
    name = _UUID.sub("", name).lstrip(".")
    return name or "?"


class PowerCutModel:
    """What of ``folder`` would survive a power cut, in the strict POSIX model.

    A file's bytes are durable as of its last successful ``fsync``/``fdatasync``; the
    folder's names (which inode each name points to) as of the folder's last successful
    ``fsync``. A file created since and never synced comes back empty. What is there when
    the model starts counts as durable: it was acknowledged before the operation began.
    """

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._names = self._listing()
        self._data: dict[int, bytes] = {}
        for name, ino in self._names.items():
            with contextlib.suppress(OSError), open(os.path.join(folder, name), "rb") as handle:
                self._data[ino] = handle.read()

    def _listing(self) -> dict[str, int]:
        names: dict[str, int] = {}
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    names[entry.name] = entry.inode()
        return names

    def synced(self, fd: int, path: str) -> None:
        """``fsync(fd)`` succeeded: its file's bytes (or the folder's names) are durable."""
        if path == self.folder:
            self._names = self._listing()
            return
        info = os.fstat(fd)
        try:
            data = os.pread(fd, info.st_size, 0)
        except OSError:  # opened write-only
            with open(path, "rb") as handle:
                data = handle.read()
        self._data[info.st_ino] = data

    def write_image(self, dest: Path) -> None:
        """Write the folder as it would come back after a power cut now, into ``dest``."""
        dest.mkdir(parents=True)
        for name, ino in self._names.items():
            (dest / name).write_bytes(self._data.get(ino, b""))


class OsShim:
    """Count (and fault) the file-changing ``os`` calls aimed at ``folder``.

    A path call counts when a path argument lies in ``folder`` (or is it); an fd call counts
    when the fd was opened there, through ``os.open`` while the shim is installed or before
    (the open descriptors are matched by inode at ``install``). Successful syncs feed
    ``power_cut``, the model of what is durable. Not thread-safe: the child runs with
    auto-save off, so one thread does all the work.
    """

    def __init__(
        self,
        folder: Path | str,
        fault: Fault | None = None,
        *,
        on_crash: Callable[[int, Call], None] | None = None,
    ) -> None:
        self.folder = os.path.realpath(folder)
        self.fault = fault
        self.on_crash = on_crash
        self.calls: list[Call] = []
        self.fired: Call | None = None
        self._fds: dict[int, str] = {}
        self._real: dict[str, Callable[..., Any]] = {}
        self.power_cut: PowerCutModel | None = None

    # -- installing -----------------------------------------------------------------------

    def install(self) -> None:
        """Patch ``os``; every module that calls ``os.<name>`` at run time sees the wrappers."""
        for name in PATCHED:
            real = getattr(os, name, None)
            if real is not None:
                self._real[name] = real
                setattr(os, name, getattr(self, f"_{name}"))
        self._track_open_fds()
        self.power_cut = PowerCutModel(self.folder)

    def uninstall(self) -> None:
        """Put the real functions back."""
        for name, real in self._real.items():
            setattr(os, name, real)
        self._real.clear()

    def __enter__(self) -> OsShim:
        self.install()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    def _track_open_fds(self) -> None:
        """Remember descriptors opened in the folder before the shim went in (a journal)."""
        inodes: dict[tuple[int, int], str] = {}
        with contextlib.suppress(OSError):
            info = os.stat(self.folder)
            inodes[(info.st_dev, info.st_ino)] = self.folder
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    st = entry.stat(follow_symlinks=False)
                    inodes.setdefault((st.st_dev, st.st_ino), entry.path)
        fd_dir = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
        try:
            names = os.listdir(fd_dir)
        except OSError:
            return
        for name in names:
            with contextlib.suppress(ValueError, OSError):
                fd = int(name)
                st = os.fstat(fd)
                path = inodes.get((st.st_dev, st.st_ino))
                if path is not None and not stat.S_ISLNK(st.st_mode):
                    self._fds[fd] = path

    # -- deciding ---------------------------------------------------------------------------

    def _inside(self, path: Any, dir_fd: int | None = None) -> str | None:
        """The absolute path when ``path`` is the folder or lies in it, else None."""
        if isinstance(path, int):
            return self._fds.get(path)
        text = os.fsdecode(os.fspath(path))
        if dir_fd is not None and not os.path.isabs(text):
            base = self._fds.get(dir_fd)
            if base is None:
                return None
            text = os.path.join(base, text)
        full = os.path.abspath(text)
        if full == self.folder:
            return full
        parent = os.path.realpath(os.path.dirname(full))
        if parent == self.folder:
            return os.path.join(parent, os.path.basename(full))
        return None

    def _role(self, path: str) -> str:
        return file_role(path, self.folder)

    def _hit(self, call: Call, perform: Callable[[], Any], path: Any) -> Any:
        """Count ``call``; at the k-th, crash or fail instead of (or right after) it."""
        self.calls.append(call)
        fault = self.fault
        if fault is None or len(self.calls) != fault.k:
            return perform()
        self.fired = call
        if fault.action == "error":
            raise OSError(fault.errno, os.strerror(fault.errno), os.fsdecode(path))
        if fault.action == "crash-before":
            self._crash(call)
        try:
            return perform()
        finally:
            self._crash(call)  # right after, whether the call succeeded or raised

    def _crash(self, call: Call) -> None:
        if self.on_crash is not None:
            with contextlib.suppress(Exception):
                self.on_crash(len(self.calls), call)
        os.kill(os.getpid(), signal.SIGKILL)
        os._exit(CRASH_EXIT)  # pragma: no cover - SIGKILL does not return

    # -- the wrappers -----------------------------------------------------------------------

    def _open(self, path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        real = self._real["open"]
        full = self._inside(path, dir_fd)
        if full is not None and flags & (os.O_CREAT | os.O_TRUNC):
            call = Call("open", self._role(full))
            fd: int = self._hit(call, lambda: real(path, flags, mode, dir_fd=dir_fd), full)
        else:
            fd = real(path, flags, mode, dir_fd=dir_fd)
        if full is not None:
            self._fds[fd] = full
        return fd

    def _close(self, fd: int) -> None:
        self._fds.pop(fd, None)
        self._real["close"](fd)

    def _fd_call(self, kind: str, fd: Any, *args: Any) -> Any:
        real = self._real[kind]
        number = fd if isinstance(fd, int) else fd.fileno()
        full = self._fds.get(number)
        if full is None:
            return real(fd, *args)
        return self._hit(Call(kind, self._role(full)), lambda: real(fd, *args), full)

    def _write(self, fd: int, data: Any) -> int:
        written: int = self._fd_call("write", fd, data)
        return written

    def _pwrite(self, fd: int, data: Any, offset: int) -> int:
        written: int = self._fd_call("pwrite", fd, data, offset)
        return written

    def _writev(self, fd: int, buffers: Any) -> int:
        written: int = self._fd_call("writev", fd, buffers)
        return written

    def _ftruncate(self, fd: int, length: int) -> None:
        self._fd_call("ftruncate", fd, length)

    def _truncate(self, path: Any, length: int) -> None:
        real = self._real["truncate"]
        full = self._inside(path)
        if full is None:
            real(path, length)
            return
        self._hit(Call("truncate", self._role(full)), lambda: real(path, length), full)

    def _sync(self, kind: str, fd: Any) -> None:
        real = self._real[kind]
        number = fd if isinstance(fd, int) else fd.fileno()
        full = self._fds.get(number)
        if full is None:
            real(fd)
            return

        def perform() -> None:
            real(fd)
            if self.power_cut is not None:
                self.power_cut.synced(number, full)

        self._hit(Call(kind, self._role(full)), perform, full)

    def _fsync(self, fd: Any) -> None:
        self._sync("fsync", fd)

    def _fdatasync(self, fd: Any) -> None:
        self._sync("fdatasync", fd)

    def _two_paths(self, kind: str, src: Any, dst: Any, **kwargs: Any) -> Any:
        real = self._real[kind]
        src_full = self._inside(src, kwargs.get("src_dir_fd"))
        dst_full = self._inside(dst, kwargs.get("dst_dir_fd"))
        if src_full is None and dst_full is None:
            return real(src, dst, **kwargs)
        src_role = self._role(src_full) if src_full else "outside"
        dst_role = self._role(dst_full) if dst_full else "outside"
        call = Call(kind, f"{src_role}->{dst_role}")
        return self._hit(call, lambda: real(src, dst, **kwargs), dst_full or src_full)

    def _link(self, src: Any, dst: Any, **kwargs: Any) -> None:
        self._two_paths("link", src, dst, **kwargs)

    def _rename(self, src: Any, dst: Any, **kwargs: Any) -> None:
        self._two_paths("rename", src, dst, **kwargs)

    def _replace(self, src: Any, dst: Any, **kwargs: Any) -> None:
        self._two_paths("replace", src, dst, **kwargs)

    def _unlink(self, path: Any, *, dir_fd: int | None = None) -> None:
        real = self._real["unlink"]
        full = self._inside(path, dir_fd)
        if full is None:
            real(path, dir_fd=dir_fd)
            return
        self._hit(Call("unlink", self._role(full)), lambda: real(path, dir_fd=dir_fd), full)

    _remove = _unlink


@contextlib.contextmanager
def no_sync() -> Iterator[None]:
    """Make ``fsync``/``fdatasync`` cheap no-ops (the fd is still checked).

    The scratch stores need no real durability: a killed process keeps the page cache, and a
    power cut is modelled (``PowerCutModel``), not performed. An ``OsShim`` installed inside
    still counts, models and faults the calls; only the real sync underneath is skipped.
    """
    saved = {name: getattr(os, name) for name in ("fsync", "fdatasync") if hasattr(os, name)}
    real_fstat = os.fstat

    def checked(fd: Any) -> None:
        real_fstat(fd if isinstance(fd, int) else fd.fileno())

    for name in saved:
        setattr(os, name, checked)
    try:
        yield
    finally:
        for name, real in saved.items():
            setattr(os, name, real)


def fast_temp_root() -> str | None:
    """A RAM-backed folder for scratch stores (``/dev/shm``), or None to use the default.

    Hundreds of cases each rename files dozens of times; on ext4 a rename over an existing
    file costs milliseconds (it forces the data out), on tmpfs microseconds. The verdicts do
    not depend on the file system, only the run time does.
    """
    root = "/dev/shm"
    if os.path.isdir(root) and os.access(root, os.W_OK | os.X_OK):
        return root
    return None


# -- running in a forked child -----------------------------------------------------------------


@dataclass
class ChildResult:
    """How a forked child ended and what it said before."""

    exit_code: int | None
    signal: int | None
    notes: list[Note] = field(default_factory=list)

    @property
    def killed(self) -> bool:
        """True when the child died of SIGKILL (a simulated crash)."""
        return self.signal == signal.SIGKILL

    @property
    def finished(self) -> bool:
        """True when the child ran its function to the end."""
        return self.exit_code == 0

    def note(self, event: str) -> Note | None:
        """The last note of kind ``event``."""
        found = [n for n in self.notes if n.get("event") == event]
        return found[-1] if found else None

    def describe(self) -> str:
        """For assertion messages: how it ended and everything it said."""
        how = f"signal {self.signal}" if self.signal is not None else f"exit {self.exit_code}"
        lines = [f"child ended with {how}"]
        for note in self.notes:
            text = note.get("traceback")
            body = {k: v for k, v in note.items() if k != "traceback"}
            lines.append(json.dumps(body, default=str))
            if text:
                lines.append(str(text))
        return "\n".join(lines)


def _send(fd: int, note: Note) -> None:
    data = (json.dumps(note, default=str) + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[_REAL_WRITE(fd, view) :]


def run_forked(body: Callable[[Send], None]) -> ChildResult:
    """Run ``body(send)`` in a forked child; ``send`` passes JSON notes back to the parent.

    The child never returns into the test process: it leaves through ``os._exit`` (no atexit
    handlers, no flushing of anyone's buffers), or dies of the signal the test asked for.
    """
    read_fd, write_fd = os.pipe()
    with warnings.catch_warnings():
        # Python warns when forking a process with threads; the child only runs ``body``.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is never saved
        code = CHILD_FAILED
        try:
            gc.disable()  # a collection would touch, and so copy, every page of the parent
            os.close(read_fd)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(WATCHDOG_SECONDS)
            body(lambda note: _send(write_fd, note))
            code = 0
        except BaseException:
            with contextlib.suppress(BaseException):
                _send(write_fd, {"event": "child-error", "traceback": traceback.format_exc()})
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks = []
    with os.fdopen(read_fd, "rb") as pipe:
        while chunk := pipe.read(65536):
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    notes = [json.loads(line) for line in b"".join(chunks).decode().splitlines() if line]
    if os.WIFSIGNALED(status):
        return ChildResult(None, os.WTERMSIG(status), notes)
    return ChildResult(os.WEXITSTATUS(status), None, notes)


def exception_note(exc: BaseException, base: type[BaseException]) -> Note:
    """What the parent needs to know about an exception raised in the child."""
    kind = type(exc)
    return {
        "outcome": "raised",
        "type": f"{kind.__module__}.{kind.__qualname__}",
        "library": isinstance(exc, base),
        "message": str(exc),
        "traceback": brief_traceback(exc),
    }


def brief_traceback(exc: BaseException) -> str:
    """Where ``exc`` and its causes came from, a frame a line, innermost cause first.

    No source lines: formatting a full traceback costs milliseconds, and this runs in
    hundreds of children.
    """
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    blocks = []
    for link in reversed(chain):
        frames = traceback.StackSummary.extract(
            traceback.walk_tb(link.__traceback__), lookup_lines=False
        )
        lines = [f"  {f.filename}:{f.lineno} in {f.name}" for f in frames]
        blocks.append("\n".join([*lines, f"{type(link).__qualname__}: {link}"]))
    return "\nwhich led to:\n".join(blocks)
