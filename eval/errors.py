"""The errors `costroute eval` reports as one line and exit code 2, never a traceback.

ValueError
 ├── DataError, ConfigError, ArtifactError (eval)
 ├── DatasetFormatError, MissingPriceError (routers.datasets)
 ├── CatalogError (pricing)
 └── LiveError (eval.live: the gateway cannot be reached or answers badly)
OSError      unreadable or unwritable paths
KeyError     a required field missing from a record (reported as such)
"""

from __future__ import annotations

EXPECTED_ERRORS: tuple[type[Exception], ...] = (ValueError, OSError, KeyError)


def describe(exc: Exception) -> str:
    """One line saying what is wrong."""
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r} in the input"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc)
