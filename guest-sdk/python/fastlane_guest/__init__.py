"""fastlane_guest: write fastlane transforms in Python.

    from fastlane_guest import Transform, export, InvalidConfig

    class Upper(Transform):
        name = "upper"
        def init(self, config):
            self.column = config.get("column", "name")
        def transform(self, table):
            col = table[self.column]
            return table.with_column(self.column, [None if v is None else v.upper() for v in col])

    export(Upper)

The host hands each batch to `transform` as a `Table`; see README.md for the whole API.
"""

from . import log, types
from ._runtime import Transform, export
from .column import Column
from .errors import ColumnNotFound, Error, Failed, InvalidConfig, InvalidInput
from .schema import Field, Schema
from .table import Table

__version__ = "0.1.0"

__all__ = [
    "Column", "ColumnNotFound", "Error", "Failed", "Field", "InvalidConfig", "InvalidInput",
    "Schema", "Table", "Transform", "export", "log", "types",
]
