"""Reading and writing user files: size-limited reads and atomic writes, with person-readable errors.

Only regular files are read or replaced: a named pipe, a device node or a socket is refused before it is
opened for reading (a pipe would block forever) and is never replaced by a regular file. A symbolic link
is followed: the file it points to is read or replaced, and the link stays a link.
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Iterable

from .errors import FileFormatError


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is not a regular file"


def read_limited(path: str, limit: int, what: str) -> bytes:
    """The file's bytes; FileFormatError (naming ``path``) if it is missing, unreadable, over ``limit``
    or not a regular file (a FIFO, a device, a socket, a folder)."""
    try:
        st = os.stat(path)   # follows links; a pipe or a device is refused before it is opened
        if not stat.S_ISREG(st.st_mode):
            raise FileFormatError(f"{path}: {_kind_of(st.st_mode)}; not {what}")
        if st.st_size > limit:
            raise FileFormatError(f"{path}: larger than {limit // 2**20} MB; not {what}")
        # O_NONBLOCK: should the name have been swapped for a pipe since the check, opening cannot hang
        with open(path, "rb", opener=_open_nonblocking) as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise FileFormatError(f"{path}: {_kind_of(st.st_mode)}; not {what}")
            return f.read(limit + 1)
    except FileFormatError:
        raise
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileFormatError(f"{path}: is a folder, not a file") from None
    except PermissionError:
        raise FileFormatError(f"{path}: permission denied") from None
    except (OSError, ValueError) as e:  # ValueError: a NUL character in the name
        raise FileFormatError(f"{path}: cannot be read ({getattr(e, 'strerror', None) or e})") from None


def _open_nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def _umask() -> int:
    """The process's umask, read without changing it (changing it would race with other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)   # no /proc: the classic way (briefly changes it)
    os.umask(old)
    return old


def write_atomically(path: str, text: str | Iterable[str | bytes]) -> None:
    """Write UTF-8 text to a temporary file beside the target, then rename it over the target.

    ``text`` is a str or an iterable of str/bytes pieces (written one by one, so a big document never
    needs to be one string). A failed write (disk full, no permission, text that cannot be encoded)
    leaves the old file as it was. A symbolic link is written through: its target is replaced and the
    link stays. A file being replaced keeps its permission bits (and owner, where allowed); a new file
    gets 0666 less the umask. Special files (devices, FIFOs, sockets) and folders are refused.
    """
    target = os.path.realpath(path)   # the file a (chain of) symlink(s) points to
    directory = os.path.dirname(target)
    tmp = None
    try:
        try:
            st = os.stat(target)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise FileFormatError(f"{path}: {_kind_of(st.st_mode)}; not replaced")
        mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(prefix=f".{Path(target).name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as f:
            pieces = [text] if isinstance(text, str) else text
            for piece in pieces:
                f.write(piece.encode("utf-8") if isinstance(piece, str) else piece)
            f.flush()
            os.fchmod(f.fileno(), mode)
            if st is not None and hasattr(os, "fchown"):
                try:
                    os.fchown(f.fileno(), st.st_uid, st.st_gid)
                except OSError:
                    pass   # only the owner's group or root may do this: the new file is the writer's
            os.fsync(f.fileno())
        os.replace(tmp, target)
        tmp = None
    except UnicodeEncodeError:
        raise FileFormatError(f"{path}: holds text that is not valid Unicode") from None
    except OSError as e:
        raise FileFormatError(f"{path}: cannot write ({e.strerror or e})") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
