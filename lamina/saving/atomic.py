"""Writing a file atomically, leaving nothing behind, with errors that name the user's path.

Where the OS has it (Linux: ext4, xfs, btrfs, tmpfs...), the data goes to an *anonymous*
file (``O_TMPFILE``): it has no name, so a process killed while writing leaves nothing;
the kernel frees it with the process. On success it is linked under a fresh hidden name
and renamed over the target, so a name exists only between those two calls. (Where a
sandbox refuses that link, the finished file is copied to a named one instead.)

Elsewhere (macOS, Windows, filesystems without ``O_TMPFILE``) the data goes to a hidden
``.lamina-<origin>-<pid>-<random>.tmp`` beside the target. A kill leaves it behind, so
every save first removes the files of that pattern in its directory whose process no
longer exists: only regular files (never through a symlink), only from this machine and
process-id namespace (``<origin>``), where the pid means the same process.

Errors (a missing or read-only directory, a target that is a directory, a full disk) are
:class:`~lamina.errors.SaveError`: an ``OSError`` naming the path the user gave and what
to do, never the temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import re
import secrets
import socket
import stat
import threading
from collections.abc import Callable
from typing import BinaryIO

from lamina.errors import LaminaError, SaveError

_TEMPORARY = re.compile(r"\.lamina-([0-9a-f]{8})-([0-9]+)-[0-9a-f]{16}\.tmp\Z")
# What os.open(directory, O_TMPFILE) raises where the filesystem or kernel lacks it.
_NO_TMPFILE = (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL)
# What linking it by /proc/self/fd raises where a sandbox or filesystem refuses that.
_NO_LINK = (errno.EXDEV, errno.ENOENT, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)
_OPEN_FLAGS = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write`` on a temporary file beside ``path``, then rename it over ``path``.

    A process killed at any point leaves either the old file or the complete new one, and
    no temporary file (see the module docstring for how, per OS). The new file's mode
    comes from the umask, as ``open()``'s would; a re-save keeps the existing file's
    permissions. The data is not fsync'ed (that alone doubles the time of a large save);
    on ext4's default mount (auto_da_alloc) a rename over an existing file flushes the
    new data first, so the old file also survives a system crash there. The replaced
    file's blocks are freed in a background thread (freeing 40 MB can take as long as
    writing it), and a model loaded from the old file keeps its memory map of it.

    Raises:
        SaveError: The file cannot be written there (the message says why and what to do);
            nothing is left behind and any file already at ``path`` is unchanged.
    """
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    _refuse_directory(target)
    _remove_stale_temporaries(folder)
    handle, named = _open_temporary(target, folder)
    try:
        with os.fdopen(handle, "wb") as raw:
            existing = _regular_file_mode(target)
            if existing is not None and hasattr(os, "fchmod"):
                os.fchmod(raw.fileno(), existing)  # a re-save keeps the file's permissions
            write(raw)
            if named is None:
                raw.flush()
                named = _link_anonymous(raw.fileno(), folder)
        old = _hold(target)
        try:
            os.replace(named, target)
        finally:
            if old is not None:
                threading.Thread(target=os.close, args=(old,), name="lamina-release").start()
    except BaseException as error:
        if named is not None:
            try:
                os.unlink(named)
            except OSError:
                pass  # already renamed into place, or never created
        if isinstance(error, OSError) and not isinstance(error, LaminaError):
            raise _save_error(target, error) from error
        raise


def check_writable(path: str | os.PathLike, create_directories: bool = False) -> None:
    """Raise :class:`~lamina.errors.SaveError` now if :func:`atomic_write` could not
    write ``path`` (for a long job that saves at its end); leaves nothing behind.

    Args:
        path: The file to be written later.
        create_directories: Create missing parent directories first. Default: ``False``.
    """
    target = os.fspath(path)
    if create_directories:
        make_parent_directories(target)
    _refuse_directory(target)
    handle, named = _open_temporary(target, os.path.dirname(os.path.abspath(target)))
    os.close(handle)
    if named is not None:
        os.unlink(named)


def make_parent_directories(path: str | os.PathLike) -> None:
    """Create the missing directories above ``path`` (as Keras's ModelCheckpoint does);
    a failure is a :class:`~lamina.errors.SaveError` naming ``path``."""
    target = os.fspath(path)
    parent = os.path.dirname(target)
    if parent:
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as error:
            raise _save_error(target, error) from error


def _refuse_directory(target: str) -> None:
    if os.path.isdir(target):  # before writing anything, not at the final rename
        raise _save_error(target, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)))


def _open_temporary(target: str, folder: str) -> tuple[int, str | None]:
    """A descriptor open for writing in ``folder``, and its name (``None`` while
    anonymous); an error is a SaveError naming ``target``."""
    try:
        handle = _open_anonymous(folder)
        if handle is not None:
            return handle, None
        return _open_named(folder)
    except OSError as error:
        raise _save_error(target, error) from error


def _open_named(folder: str) -> tuple[int, str]:
    named = os.path.join(folder, _temporary_name())
    # Not mkstemp: its files are mode 0600; this one gets the umask's mode, as open() would.
    return os.open(named, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, 0o666), named


def _temporary_name() -> str:
    return f".lamina-{_origin()}-{os.getpid()}-{secrets.token_hex(8)}.tmp"


def _open_anonymous(folder: str) -> int | None:
    """An ``O_TMPFILE`` descriptor in ``folder``, or ``None`` where there is none (the
    OS, the filesystem, or no ``/proc`` to link it by)."""
    if not hasattr(os, "O_TMPFILE") or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        # Readable too, for the copy in _link_anonymous should linking be refused.
        return os.open(folder, os.O_TMPFILE | os.O_RDWR | _OPEN_FLAGS, 0o666)
    except OSError as error:
        if error.errno in _NO_TMPFILE:
            return None
        raise


def _link_anonymous(handle: int, folder: str) -> str:
    """Give the anonymous file open at ``handle`` a fresh hidden name in ``folder`` (a
    named copy of it where the system refuses the link)."""
    name = _temporary_name()
    directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | _OPEN_FLAGS)
    try:
        # A directory descriptor makes os.link call linkat (plain link() would link the
        # /proc symlink itself); AT_SYMLINK_FOLLOW links the file it points to.
        os.link(f"/proc/self/fd/{handle}", name, dst_dir_fd=directory, follow_symlinks=True)
    except OSError as error:
        if error.errno not in _NO_LINK:
            raise
        return _copy_to_named(handle, folder)
    finally:
        os.close(directory)
    return os.path.join(folder, name)


def _copy_to_named(handle: int, folder: str) -> str:
    copy, named = _open_named(folder)
    try:
        status = os.fstat(handle)
        os.fchmod(copy, stat.S_IMODE(status.st_mode))
        offset = 0
        while offset < status.st_size:
            sent = os.sendfile(copy, handle, offset, status.st_size - offset)
            if sent == 0:
                raise OSError(errno.EIO, "the temporary file shrank while being copied")
            offset += sent
    except BaseException:
        os.close(copy)
        os.unlink(named)
        raise
    os.close(copy)
    return named


@functools.cache
def _origin() -> str:
    """Eight hex digits naming this host and process-id namespace: a temporary file's pid
    is checked only by a process that sees the same pids (not another container sharing
    the directory, nor another machine over NFS)."""
    parts = [socket.gethostname()]
    with contextlib.suppress(OSError):  # no /proc: the host name alone
        parts.append(str(os.stat("/proc/self/ns/pid").st_ino))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:8]


def _remove_stale_temporaries(folder: str) -> None:
    """Remove this origin's temporary files in ``folder`` whose process is gone."""
    if os.name != "posix":
        return  # os.kill(pid, 0) would terminate the process on Windows
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return  # an unreadable directory is reported by the save itself
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or match[1] != _origin() or not _process_is_gone(int(match[2])):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
        except OSError:
            pass  # another save removed it first, or the directory is read-only


def _process_is_gone(pid: int) -> bool:
    if pid == os.getpid() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False  # alive (another user's process), or no such pid at all on this OS
    return False


def _save_error(target: str, error: OSError) -> SaveError:
    """The error to raise for ``error``, naming the user's ``target`` and what to do."""
    folder = os.path.dirname(target) or os.curdir
    code = error.errno
    if code == errno.EISDIR and os.path.isdir(target):
        reason = (f"it is a directory. Give a file name inside it, e.g. "
                  f"'{os.path.join(target, 'model.lamina')}'.")
    elif code in (errno.ENOENT, errno.ENOTDIR, errno.EEXIST):
        blocker = _existing_ancestor(folder)
        if blocker is not None and not os.path.isdir(blocker):
            reason = (f"'{blocker}' is a file, not a directory. Choose a path inside a "
                      "directory.")
        else:
            reason = (f"the directory '{folder}' does not exist. Create it first "
                      f"(os.makedirs('{folder}', exist_ok=True)) or choose another path.")
    elif code in (errno.EACCES, errno.EPERM):
        reason = (f"no permission to create files in the directory '{folder}'. Choose a "
                  "writable directory or change its permissions.")
    elif code == errno.EROFS:
        reason = f"the directory '{folder}' is on a read-only file system. Choose another."
    elif code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        reason = (f"no space left on the device of '{folder}' ({error.strerror}); a file "
                  "already at that path is unchanged. Free some space or choose another "
                  "directory.")
    else:
        reason = f"{error.strerror or error}."
    failure = SaveError(f"Cannot save to '{target}': {reason} Nothing was written.")
    failure.errno, failure.strerror, failure.filename = code, error.strerror, target
    return failure


def _existing_ancestor(folder: str) -> str | None:
    """The deepest of ``folder`` and its parents that exists (as given, relative or not)."""
    current = folder
    while not os.path.lexists(current):
        parent = os.path.dirname(current)
        if parent in ("", current):
            return None
        current = parent
    return current


def _regular_file_mode(path: str) -> int | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return stat.S_IMODE(status.st_mode) if stat.S_ISREG(status.st_mode) else None


def _hold(path: str) -> int | None:
    """A descriptor keeping the regular file at ``path`` alive past its replacement
    (POSIX only: elsewhere a file cannot be replaced while open)."""
    if os.name != "posix":
        return None
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        return None
    return handle
