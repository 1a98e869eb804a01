"""Project exceptions: one type per kind of failure, each with a message a user can act on.

Errors about bad input also subclass the built-in a Python (and AutoKeras) user catches for it:
`ValueError` for bad values, `TypeError` for values of the wrong type, so `except ValueError`
around an AutoKeras call keeps working with `import components as ak`.
"""

from __future__ import annotations


class BraidError(Exception):
    """Base class of every error Braid raises on purpose."""


class ContractError(BraidError, ValueError):
    """A data contract is malformed: names the file, key (and line where known)."""


class DataValidationError(BraidError, ValueError):
    """Data failed the contract's expectations; carries the validation report."""

    def __init__(self, message: str, report: object | None = None):
        super().__init__(message)
        self.report = report


class DataError(BraidError, ValueError):
    """Input data cannot be used (missing column, bad dtype, unreadable file, bad image...)."""


class InputError(BraidError, ValueError):
    """Arguments given to the library API are inconsistent (shapes, counts, wiring, names)."""


class InputTypeError(InputError, TypeError):
    """An argument given to the library API has the wrong type (e.g. a string where a node goes)."""


class SearchError(BraidError):
    """The model search could not produce a model (every trial failed, budget too small...)."""


class TrackingError(BraidError):
    """The tracking store (MLflow) could not be reached or written."""


class StorageError(BraidError):
    """An output location is not writable or the disk is full."""


class MissingExtraError(InputError):
    """An optional feature was asked for but its extra (e.g. `braid[pretrained]`) is not installed."""


class DriftError(BraidError):
    """The data drifted past the contract's `drift:` thresholds and the contract says to stop."""


class StackError(BraidError):
    """The local development stack (`braid stack`) cannot start or stop: a missing binary, a taken port,
    a server that did not come up (its log named)."""
