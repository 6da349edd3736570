"""Typed errors for everything a user can get wrong.

Every loader and validator raises a subclass of :class:`NnvizError` with a
message meant for a person; the CLI and the GUI show that message as it is.
"""


class NnvizError(Exception):
    """Base class for errors caused by user input (files, settings, data)."""


class ConfigError(NnvizError, ValueError):
    """A configuration value is missing, of the wrong type or out of range."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class DataError(NnvizError, ValueError):
    """A point set is malformed (shape, labels, roles, non-finite values)."""


class FileFormatError(NnvizError, ValueError):
    """A file could not be read as what it claims to be."""
