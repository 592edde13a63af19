"""Files and folders in a data folder that others may have tampered with.

Every file opencode keeps is opened here: never through a symbolic link (``O_NOFOLLOW``),
never if it is not a regular file (a FIFO would hang a read, ``/dev/zero`` would never end),
never read past a size cap. Every write is atomic and durable; every folder and file created
is private (0700 / 0600) whatever the umask. Errors are plain ``OSError``s (with the
subclasses below); the sessions and hooks packages turn them into their own errors.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from pathlib import Path

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Final

PRIVATE_DIR_MODE: Final = 0o700
PRIVATE_FILE_MODE: Final = 0o600
# Opening never follows a link and never blocks on a FIFO with no writer.
_SAFE_OPEN: Final = os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
# Folder fsync is not supported everywhere; these say so, and are not data loss.
_FSYNC_UNSUPPORTED: Final = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP})
LOCK_POLL_SECONDS: Final = 0.02
_TEMP_ATTEMPTS: Final = 100  # names tried before giving up (each a 32-bit random draw)


class NotRegularFileError(OSError):
    """A path that should be a regular file is a link, a FIFO, a device or a folder."""


class FileTooLargeError(OSError):
    """A file is larger than the cap for its kind: reading it would exhaust memory."""


def kind_of(mode: int) -> str:
    """``a symbolic link``, ``a FIFO``...: what a non-regular file is, for messages."""
    kinds = (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _refuse(path: Path | str, mode: int) -> NotRegularFileError:
    return NotRegularFileError(
        errno.EINVAL, f"{kind_of(mode)}, not a regular file; opencode never reads through it", path
    )


def open_regular(path: Path | str, flags: int = os.O_RDONLY, mode: int = PRIVATE_FILE_MODE) -> int:
    """Open ``path`` as a regular file only, never through a link; returns the fd.

    With ``O_CREAT`` a new file gets ``mode`` exactly, whatever the umask.
    """
    try:
        fd = os.open(path, flags | _SAFE_OPEN, mode)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):
            special = _special_mode(path)
            if special is not None:
                raise _refuse(path, special) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(path, info.st_mode)
        if flags & os.O_CREAT and stat.S_IMODE(info.st_mode) != mode:
            os.fchmod(fd, mode)  # whatever the umask (or an older version) made it
    except BaseException:
        os.close(fd)
        raise
    return fd


def _special_mode(path: Path | str) -> int | None:
    """The mode of ``path`` when it is not a regular file (links not followed)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else mode


def read_regular(path: Path | str, limit: int) -> bytes:
    """The whole of a regular file of at most ``limit`` bytes.

    ``FileNotFoundError`` passes through; a link or special file raises
    ``NotRegularFileError``, a larger file ``FileTooLargeError``.
    """
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise _too_large(path, size, limit)
        chunks = []
        total = 0
        while chunk := os.read(fd, max(size - total, 0) + 65536):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while we read
                raise _too_large(path, total, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _too_large(path: Path | str, size: int, limit: int) -> FileTooLargeError:
    return FileTooLargeError(
        errno.EFBIG, f"{size:,} bytes, more than the {limit:,} such a file may have", path
    )


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def sync_data(fd: int) -> None:
    """fdatasync where the platform has it (Linux), else fsync (macOS)."""
    getattr(os, "fdatasync", os.fsync)(fd)


def fsync_dir(path: Path | str) -> None:
    """Make the creations, renames and unlinks inside folder ``path`` durable.

    A file system that cannot sync folders says so (EINVAL); every other failure, EIO
    above all, means the change may not survive a power cut and is raised.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _SAFE_OPEN)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _FSYNC_UNSUPPORTED:
            raise
    finally:
        os.close(fd)


def make_private_dir(path: Path) -> None:
    """Create ``path`` and any missing parents as 0700 (any umask); tighten ``path`` itself.

    Folders that already exist above ``path`` are the user's and are left as they are.
    """
    missing: list[Path] = []
    current = path
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            if not folder.is_dir():
                raise
            continue
        os.chmod(folder, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        info = path.stat()  # a data root may be a link the user made; its target is checked
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, PRIVATE_DIR_MODE)


def atomic_write(path: Path, data: bytes, *, backup_path: Path | None = None) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file.

    Temp file (0600) in the same folder, write, fsync, ``os.replace`` (which replaces a link
    itself, never its target), fsync the folder. With ``backup_path`` the previous version is
    kept there as a hard link (no copy).
    """
    folder = path.parent
    fd, tmp_name = create_temp_file(folder, path.name)
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if backup_path is not None:
            link_backup(path, backup_path)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    fsync_dir(folder)


def create_temp_file(folder: Path, name: str) -> tuple[int, str]:
    """A new, empty file ``.<name>.<8 random characters>.tmp`` (0600) in ``folder``, opened
    for writing: its descriptor and path.

    As ``tempfile.mkstemp`` does it (exclusive create, no link followed), without importing
    ``tempfile``, which costs every command several milliseconds of start-up.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(_TEMP_ATTEMPTS):
        candidate = os.path.join(folder, f".{name}.{os.urandom(4).hex()}.tmp")
        try:
            return os.open(candidate, flags, PRIVATE_FILE_MODE), candidate
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary file name", str(folder))


def link_backup(path: Path, backup_path: Path) -> None:
    """Point ``backup_path`` at the current ``path`` inode, atomically (no copy).

    Only a regular file is backed up: a link planted in its place is not followed.
    """
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return
    except FileNotFoundError:
        return  # first save: nothing to back up
    staging = backup_path.with_name(f".{backup_path.name}.link")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(staging)
    try:
        os.link(path, staging, follow_symlinks=False)
    except FileNotFoundError:
        return
    os.replace(staging, backup_path)


def unlink_if_present(path: Path) -> bool:
    """Remove ``path`` (a link itself, never its target); False when it was not there."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def flock_exclusive(path: Path, *, wait: float = 0.0) -> int | None:
    """Take an exclusive ``flock`` on ``path`` (created 0600); the fd, or None if held.

    The operating system releases it when the process dies. A holder may unlink the file
    just before releasing it; a lock on an unlinked inode is worth nothing, so that case
    retries on the new file. ``wait`` is how long to keep trying a held lock.
    """
    import fcntl

    deadline = time.monotonic() + wait
    while True:
        fd = open_regular(path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                return None
            time.sleep(LOCK_POLL_SECONDS)
            continue
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, path):
            return fd
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.lstat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)
