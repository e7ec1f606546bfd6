"""Fields and schemas: names, types, nullability and custom metadata (immutable)."""

from types import MappingProxyType

from .types import data_type


def _frozen(metadata):
    return MappingProxyType({str(k): str(v) for k, v in metadata.items()} if metadata else {})


class Field:
    """One column's name, `DataType`, nullability and custom metadata ({str: str}, read-only)."""

    __slots__ = ("_name", "_type", "_nullable", "_metadata")

    def __init__(self, name, type, nullable=True, metadata=None):
        self._name = str(name)
        self._type = data_type(type)
        self._nullable = bool(nullable)
        self._metadata = _frozen(metadata)

    name = property(lambda self: self._name)
    type = property(lambda self: self._type)
    nullable = property(lambda self: self._nullable)
    metadata = property(lambda self: self._metadata)

    def with_type(self, type):
        """A copy of this field with another type (name, nullability and metadata kept)."""
        return Field(self.name, type, self.nullable, self.metadata)

    def with_name(self, name):
        return Field(name, self.type, self.nullable, self.metadata)

    def __eq__(self, other):
        return (isinstance(other, Field) and self.name == other.name and self.type == other.type
                and self.nullable == other.nullable and self.metadata == other.metadata)

    def __hash__(self):
        return hash((self.name, self.type))

    def __repr__(self):
        meta = ", metadata=%r" % dict(self.metadata) if self.metadata else ""
        return "Field(%r, %s%s%s)" % (
            self.name, self.type, "" if self.nullable else ", not null", meta)


class Schema:
    """An ordered tuple of fields plus the schema's custom metadata ({str: str}, read-only)."""

    __slots__ = ("_fields", "_metadata", "_index")

    def __init__(self, fields, metadata=None):
        self._fields = tuple(fields)
        self._metadata = _frozen(metadata)
        self._index = None

    fields = property(lambda self: self._fields)
    metadata = property(lambda self: self._metadata)

    @property
    def names(self):
        return [f.name for f in self.fields]

    def index(self, name):
        """Position of the first field called `name`, or -1."""
        if self._index is None:
            index = {}
            for i, f in enumerate(self.fields):
                index.setdefault(f.name, i)
            self._index = index
        return self._index.get(name, -1)

    def field(self, name_or_index):
        """The field with this name (KeyError if absent) or at this position."""
        if isinstance(name_or_index, int):
            return self.fields[name_or_index]
        i = self.index(name_or_index)
        if i < 0:
            raise KeyError(name_or_index)
        return self.fields[i]

    def __len__(self):
        return len(self.fields)

    def __iter__(self):
        return iter(self.fields)

    def __eq__(self, other):
        return (isinstance(other, Schema) and self.fields == other.fields
                and self.metadata == other.metadata)

    def __hash__(self):
        return hash(tuple(self.fields))

    def __repr__(self):
        lines = ["  %r" % f for f in self.fields]
        if self.metadata:
            lines.append("  metadata=%r" % dict(self.metadata))
        return "Schema(\n%s\n)" % "\n".join(lines)
