"""Reading and writing user files: size-limited reads and atomic writes, with person-readable errors."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import FileFormatError


def read_limited(path: str, limit: int, what: str) -> bytes:
    """The file's bytes; FileFormatError (naming ``path``) if it is missing, unreadable or over ``limit``."""
    try:
        if os.path.getsize(path) > limit:
            raise FileFormatError(f"{path}: larger than {limit // 2**20} MB; not {what}")
        with open(path, "rb") as f:
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


def write_atomically(path: str, text: str) -> None:
    """Write UTF-8 text to a temporary file beside ``path``, then rename it over ``path``.

    A failed write (disk full, no permission, text that cannot be encoded) leaves the old file as it was.
    """
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        data = text.encode("utf-8")
        fd, tmp = tempfile.mkstemp(prefix=f".{Path(path).name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
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
