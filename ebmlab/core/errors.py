"""User-facing errors: each carries one clear message (what, where, why)."""

from __future__ import annotations


class EbmlabError(ValueError):
    """Base class for errors caused by user input; the message is shown as is."""


class ExpressionError(EbmlabError):
    """A typed energy expression that cannot be parsed or compiled.

    `column` is 1-based (None when the problem is not tied to a position).
    """

    def __init__(self, message: str, column: int | None = None, expression: str = ""):
        self.reason = message
        self.column = column
        self.expression = expression
        text = message if column is None else f"{message} at column {column}"
        super().__init__(text)


class DataError(EbmlabError):
    """A data set or data file that cannot be used (names the file and the problem)."""


class ConfigError(EbmlabError):
    """One or more invalid settings; `problems` holds one 'path: reason' line each."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class NotNormalisableError(EbmlabError):
    """exp(-E) cannot be normalised on the given box (non-finite or overflowing)."""
