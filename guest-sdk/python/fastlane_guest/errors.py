"""The three errors of the WIT `error` variant, as Python exceptions.

Raise them from `init`, `transform` or `finish`; any other exception becomes `failed` with its
type and message.
"""


class Error(Exception):
    """Base class of the errors a transform reports to the host."""

    kind = "failed"

    def __init__(self, message):
        super().__init__(message)
        self.message = str(message)

    def __str__(self):
        return self.message


class InvalidConfig(Error):
    """The JSON config is not acceptable (a key, a value, or a value that does not fit the data)."""

    kind = "invalid-config"


class InvalidInput(Error):
    """This batch cannot be processed (a missing column, a wrong type, malformed IPC)."""

    kind = "invalid-input"


class Failed(Error):
    """Anything else: a computation failed, an internal limit was hit."""

    kind = "failed"


class ColumnNotFound(InvalidInput, KeyError):
    """`table[name]` for a column the table does not have (also a `KeyError`)."""

    def __init__(self, name, present):
        InvalidInput.__init__(
            self, "column `%s` not found (columns: %s)" % (name, ", ".join(present))
        )
        self.name = name

    def __str__(self):
        return self.message
