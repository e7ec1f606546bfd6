"""`Table`: one record batch, as the transform sees it."""

from . import _bits
from ._select import Selection
from .column import Column
from .errors import ColumnNotFound
from .schema import Field, Schema


class Table:
    """Named columns of equal length, with a schema (types, nullability, metadata).

    `Table({"id": [1, 2], "name": ["a", None]}, types={"id": "int32"})` builds one from Python
    lists (or `Column`s); the transform receives one per input batch and returns one.
    """

    __slots__ = ("_schema", "_columns", "_num_rows")

    def __init__(self, data=None, types=None, metadata=None):
        types = types or {}
        fields, columns = [], []
        for name, values in (data or {}).items():
            col = _as_column(values, types.get(name), name)
            fields.append(Field(name, col.type, True))
            columns.append(col)
        self._init(Schema(fields, metadata), columns, len(columns[0]) if columns else 0)

    def _init(self, schema, columns, num_rows):
        for col in columns:
            if len(col) != num_rows:
                raise ValueError("column `%s` has %d rows, expected %d" % (
                    col.name, len(col), num_rows))
        self._schema = schema
        self._columns = columns
        self._num_rows = num_rows

    @classmethod
    def from_columns(cls, schema, columns, num_rows=None):
        """A table from a `Schema` and one `Column` per field (types must match)."""
        columns = list(columns)
        if len(columns) != len(schema.fields):
            raise ValueError("%d columns for %d fields" % (len(columns), len(schema.fields)))
        named = []
        for field, col in zip(schema.fields, columns):
            if not isinstance(col, Column):
                col = Column(col, field.type, field.name)
            if col.type != field.type:
                raise ValueError("column `%s` is %s but its field says %s" % (
                    field.name, col.type, field.type))
            if not field.nullable and col.null_count:
                raise ValueError("column `%s` is not nullable but has %d nulls" % (
                    field.name, col.null_count))
            named.append(col._renamed(field.name))
        table = cls.__new__(cls)
        if num_rows is None:
            num_rows = len(named[0]) if named else 0
        table._init(schema, named, num_rows)
        return table

    # -- reading --------------------------------------------------------------------------------

    @property
    def schema(self):
        return self._schema

    @property
    def column_names(self):
        return self._schema.names

    @property
    def columns(self):
        return list(self._columns)

    @property
    def num_rows(self):
        return self._num_rows

    @property
    def num_columns(self):
        return len(self._columns)

    def __len__(self):
        return self._num_rows

    def __contains__(self, name):
        return self._schema.index(name) >= 0

    def column(self, key):
        """The column with this name (`InvalidInput` naming it if absent) or at this position."""
        if isinstance(key, int):
            return self._columns[key]
        i = self._schema.index(key)
        if i < 0:
            raise ColumnNotFound(key, self._schema.names)
        return self._columns[i]

    __getitem__ = column

    def __iter__(self):
        raise TypeError("iterate over table.column_names, table.columns or table.to_pylist()")

    def to_pydict(self):
        """{name: [values]}."""
        return {f.name: col.to_list() for f, col in zip(self._schema.fields, self._columns)}

    def to_pylist(self):
        """[{name: value}] per row."""
        names = self._schema.names
        columns = [col.to_list() for col in self._columns]
        return [dict(zip(names, row)) for row in zip(*columns)]

    def __repr__(self):
        return "Table(%d rows, %r)" % (self._num_rows, self._schema)

    # -- deriving -------------------------------------------------------------------------------

    def filter(self, mask):
        """The rows where `mask` is true (a list of bool/None, bytes of 0/1, or a Boolean
        Column); kept in order. Works on the raw buffers: no column is decoded."""
        rows = _mask_rows(mask, self._num_rows)
        selection = Selection(rows)
        if selection.kept == self._num_rows:
            return self
        columns = [col._filter(selection) for col in self._columns]
        return self._derive(self._schema, columns, selection.kept)

    def slice(self, start, stop=None):
        """Rows `start` to `stop` (Python slice rules, step 1)."""
        start, stop, _ = slice(start, stop).indices(self._num_rows)
        stop = max(start, stop)
        rows = bytes(start) + b"\x01" * (stop - start) + bytes(self._num_rows - stop)
        return self.filter(rows)

    def with_column(self, name, values, type=None, nullable=None, metadata=None):
        """A table with column `name` replaced (same position) or appended.

        `values` is a list (None = null) or a `Column`. The type is `type` when given, else the
        replaced column's type, else inferred from the values. A replaced field keeps its
        nullability and metadata unless `nullable` / `metadata` are given.
        """
        i = self._schema.index(name)
        old = self._schema.fields[i] if i >= 0 else None
        if type is None and old is not None and not isinstance(values, Column):
            type = old.type
        col = _as_column(values, type, name)
        if self._columns and len(col) != self._num_rows:
            raise ValueError("column `%s` has %d values for a table of %d rows" % (
                name, len(col), self._num_rows))
        if nullable is None:
            nullable = old.nullable if old is not None else True
        if metadata is None:
            metadata = old.metadata if old is not None else None
        field = Field(name, col.type, nullable, metadata)
        if not nullable and col.null_count:
            raise ValueError("column `%s` is not nullable but has %d nulls" % (
                name, col.null_count))
        fields = list(self._schema.fields)
        columns = list(self._columns)
        if i >= 0:
            fields[i], columns[i] = field, col
        else:
            fields.append(field)
            columns.append(col)
        num_rows = self._num_rows if self._columns else len(col)
        return self._derive(Schema(fields, self._schema.metadata), columns, num_rows)

    def select(self, names):
        """A table with only these columns, in this order."""
        indexes = [self._index(name) for name in names]
        return self._derive(Schema([self._schema.fields[i] for i in indexes],
                                   self._schema.metadata),
                            [self._columns[i] for i in indexes], self._num_rows)

    def drop(self, names):
        """A table without these columns."""
        if isinstance(names, str):
            names = [names]
        for name in names:
            self._index(name)
        names = set(names)
        return self.select([n for n in self._schema.names if n not in names])

    def rename(self, mapping):
        """A table with columns renamed by {old: new}."""
        for old in mapping:
            self._index(old)
        fields = [f.with_name(mapping.get(f.name, f.name)) for f in self._schema.fields]
        columns = [col._renamed(f.name) for f, col in zip(fields, self._columns)]
        return self._derive(Schema(fields, self._schema.metadata), columns, self._num_rows)

    def with_metadata(self, metadata):
        """A table whose schema carries this custom metadata ({str: str})."""
        return self._derive(Schema(self._schema.fields, metadata), self._columns, self._num_rows)

    def _index(self, name):
        i = self._schema.index(name)
        if i < 0:
            raise ColumnNotFound(name, self._schema.names)
        return i

    @staticmethod
    def _derive(schema, columns, num_rows):
        table = Table.__new__(Table)
        table._init(schema, [c._renamed(f.name) for f, c in zip(schema.fields, columns)],
                    num_rows)
        return table


def _as_column(values, type, name):
    if isinstance(values, Column):
        col = values if type is None else values.cast(type)
        return col._renamed(name)
    return Column(values, type, name)


def _mask_rows(mask, n):
    """Row bytes (0/1) of a mask."""
    if isinstance(mask, Column):
        if mask.type.id != "bool":
            raise TypeError("filter mask column must be Boolean, not %s" % mask.type)
        rows = _bits.unpack(mask.buffers[0], len(mask))
        if mask.null_count:
            rows = _bits.both(rows, _bits.unpack(mask.validity, len(mask)))
    elif isinstance(mask, (bytes, bytearray, memoryview)):
        rows = _bits.normalize(mask)
    else:
        if not isinstance(mask, list):
            mask = list(mask)
        try:
            rows = _bits.normalize(bytes(mask))
        except (TypeError, ValueError):
            rows = bytes([1 if m else 0 for m in mask])
    if len(rows) != n:
        raise ValueError("filter mask has %d entries for %d rows" % (len(rows), n))
    return rows
