"""User-facing errors: one line that says what is wrong and how to fix it.

The CLI prints ``str(error)`` alone and exits with ``error.exit_code``: 1 for a
problem with the data, the model or the machine (a full disk), 2 for a problem with how
clv was called.
"""

from pathlib import Path


class ClvError(Exception):
    """Base class of every error clv reports to a user."""

    exit_code = 1


class DataError(ClvError):
    """The transactions (or another input file) cannot be used as given."""


class ModelError(ClvError):
    """A model cannot be fitted, loaded or applied."""


class ReportError(ClvError):
    """A report run failed."""

    run_dir: Path | None = None
    """The folder of the failed run, when it got one (set by ``clv.report.runner``)."""

    about_data: bool = False
    """A cell failed on the data or the model (a ``DataError`` or ``ModelError``), not a bug."""


class StorageError(ClvError):
    """A file or folder cannot be read or written: permissions, a full or read-only disk."""


class UsageError(ClvError):
    """An option, parameter or path given to clv is wrong."""

    exit_code = 2


class ClvInfo(UserWarning):
    """Not an error: something clv decided for the user (a detected date format, a stripped
    currency sign), shown as one ``info`` line."""
