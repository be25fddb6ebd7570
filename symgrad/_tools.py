"""Small generic helpers for writing files: one atomic writer for every file symgrad writes.

A regular file is written to a temporary sibling and renamed over the
target, so a reader (or an interrupted run) never sees half a file and a
failed write leaves the old file as it was. A new file gets the mode the
user's umask allows; an existing file keeps its mode (and, where allowed,
its owner). Anything that is not a regular file -- a FIFO, a terminal,
``/dev/null``, ``/dev/stdout``, ``/proc/self/fd/1`` -- is opened and written
through, never replaced. Every failure is an ``OSError`` whose message is
one line naming the path and the problem.
"""
from __future__ import annotations

import os
import secrets
import stat
from contextlib import suppress
from pathlib import Path

__all__ = ["check_writable", "ensure_folder", "is_stream", "write_file"]

#: folders whose entries are streams or devices (``/dev/stdout``, ``/proc/self/fd/1``): written through
_STREAM_FOLDERS = ("/dev/", "/proc/")
#: how a written-through file is opened: never created, never truncated (a stream is appended to)
_THROUGH_FLAGS = os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
_TEMPORARY_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _one_line(error: OSError, path, doing: str = "write") -> OSError:
    """The same kind of error, with a one-line message naming the path: ``cannot write 'x': reason``."""
    reason = error.strerror or str(error) or type(error).__name__
    failure = type(error)(f"cannot {doing} {str(path)!r}: {reason}")
    failure.errno = error.errno
    return failure


def _status(path: Path):
    """``os.stat`` of the path (following links), ``None`` if nothing is there; one-line errors."""
    try:
        return os.stat(path)
    except ValueError:  # a NUL character: no file can have this name
        raise ValueError(f"cannot write {str(path)!r}: a file name cannot hold a NUL character") from None
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise NotADirectoryError(f"cannot write {str(path)!r}: a part of the path is a file, "
                                 "not a folder") from None
    except OSError as error:
        raise _one_line(error, path) from None


def _is_stream(path: Path, status) -> bool:
    """Whether the target is written through: not a regular file, or a ``/dev`` or ``/proc`` entry."""
    if not stat.S_ISREG(status.st_mode):
        return True
    return os.path.abspath(path).startswith(_STREAM_FOLDERS)


def is_stream(path) -> bool:
    """Whether ``path`` names an existing stream or device (a FIFO, a terminal, ``/dev/null``,
    ``/dev/stdout``), which is written through rather than replaced, and needs no file-name suffix.

    >>> import os, tempfile
    >>> is_stream(os.devnull), is_stream(tempfile.mkdtemp()), is_stream("/no/such/file")
    (True, False, False)
    """
    path = Path(path)
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return False
    return not stat.S_ISDIR(status.st_mode) and _is_stream(path, status)


def check_writable(path) -> Path:
    """Check, before any work is done, that ``path`` can be written; return it as a Path.

    Raises a one-line ``OSError``: the folder does not exist, the path is a
    folder, the file is read-only, or the folder cannot be written to.

    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> check_writable(os.path.join(folder, "new.txt")).name
    'new.txt'
    >>> check_writable(folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    IsADirectoryError: cannot write '...': it is a folder; give a file name inside it
    >>> check_writable(os.path.join(folder, "missing", "new.txt"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: cannot write '...new.txt': folder '...missing' does not exist
    """
    path = Path(path)
    status = _status(path)
    if status is not None and stat.S_ISDIR(status.st_mode):
        raise IsADirectoryError(f"cannot write {str(path)!r}: it is a folder; give a file name inside it")
    if status is not None and _is_stream(path, status):
        return path
    real = Path(os.path.realpath(path))
    folder = real.parent
    folder_status = _status(folder)
    if folder_status is None:
        raise FileNotFoundError(f"cannot write {str(path)!r}: folder {str(path.parent)!r} does not exist")
    if not stat.S_ISDIR(folder_status.st_mode):
        raise NotADirectoryError(f"cannot write {str(path)!r}: {str(path.parent)!r} is a file, not a folder")
    if status is not None and not os.access(real, os.W_OK):
        raise PermissionError(f"cannot write {str(path)!r}: the file is read-only "
                              f"(mode {stat.filemode(status.st_mode)})")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {str(path)!r}: folder {str(path.parent)!r} is not writable")
    return path


def ensure_folder(path) -> Path:
    """Make the folder ``path`` (and its parents) if it is not there; a one-line error if it cannot be.

    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> ensure_folder(os.path.join(folder, "report", "images")).name
    'images'
    >>> open(os.path.join(folder, "notes"), "w").close()
    >>> ensure_folder(os.path.join(folder, "notes"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileExistsError: cannot make folder '...notes': a file of that name is there
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # exist_ok tolerates folders only
        raise FileExistsError(f"cannot make folder {str(path)!r}: a file of that name is there") from None
    except NotADirectoryError:
        raise NotADirectoryError(f"cannot make folder {str(path)!r}: {str(_file_on_the_way(path))!r} "
                                 "is a file, not a folder") from None
    except OSError as error:
        raise _one_line(error, path, "make folder") from None
    return path


def _file_on_the_way(path: Path) -> Path:
    """The first part of ``path`` that is a file, where a folder was needed."""
    for part in reversed(path.parents):
        if part.exists() and not part.is_dir():
            return part
    return path.parent


def _write_through(path: Path, payload: bytes) -> None:
    """Open an existing stream or device and write to it (a FIFO blocks until it has a reader)."""
    descriptor = os.open(path, _THROUGH_FLAGS)
    with os.fdopen(descriptor, "wb", buffering=0) as stream:
        view = memoryview(payload)
        while view:
            view = view[stream.write(view):]


def _temporary(folder: Path, name: str, mode: int) -> tuple[int, Path]:
    """A new file beside the target, opened for writing: ``.name.<random>.tmp``."""
    while True:
        candidate = folder / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(candidate, _TEMPORARY_FLAGS, mode), candidate
        except FileExistsError:
            continue


def _write_replacing(real: Path, payload: bytes, status) -> None:
    """Write a temporary sibling completely, give it the old file's mode, rename it over the target."""
    # a new file: 0o666 less the umask, as open() would; an existing one: private until its mode is set
    descriptor, temporary = _temporary(real.parent, real.name, 0o666 if status is None else 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if status is not None:
            os.chmod(temporary, stat.S_IMODE(status.st_mode))
            with suppress(PermissionError):  # only root may give a file away
                os.chown(temporary, status.st_uid, status.st_gid)
        os.replace(temporary, real)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_folder(real.parent)


def _sync_folder(folder: Path) -> None:
    # the rename is durable once the folder's entry is on disk; some systems cannot sync a folder
    with suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def write_file(path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` completely or not at all; return the path.

    A regular file (new or existing; through a symbolic link, the link's
    target) is replaced atomically and keeps its mode; a FIFO, a device or
    a ``/dev``/``/proc`` stream is written through. Errors are one-line
    ``OSError``s naming the path.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "note.txt")
    >>> write_file(path, "first\\n").name
    'note.txt'
    >>> _ = write_file(path, b"second\\n")
    >>> from pathlib import Path
    >>> Path(path).read_text(), sorted(os.listdir(os.path.dirname(path)))
    ('second\\n', ['note.txt'])
    >>> write_file(os.devnull, "into the void")
    PosixPath('/dev/null')
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    check_writable(path)
    status = _status(path)
    try:
        if status is not None and _is_stream(path, status):
            _write_through(path, payload)
        else:
            _write_replacing(Path(os.path.realpath(path)), payload, status)
    except OSError as error:
        raise _one_line(error, path) from None
    return path
