"""The parts of Arrow's Schema.fbs and Message.fbs the SDK reads and writes.

Written by hand over the `flatbuffers` runtime: each table is read through its vtable slots
(slot k lives at vtable offset 4 + 2k) and built with the slot numbers of the .fbs files.
"""

import struct

import flatbuffers
from flatbuffers import number_types as N
from flatbuffers.table import Table as FbTable

from .. import types as T
from ..errors import InvalidInput
from ..schema import Field, Schema

# Message.fbs
METADATA_V4, METADATA_V5 = 3, 4
HEADER_SCHEMA, HEADER_DICTIONARY_BATCH, HEADER_RECORD_BATCH = 1, 2, 3

# Schema.fbs: the Type union
(TYPE_NULL, TYPE_INT, TYPE_FLOAT, TYPE_BINARY, TYPE_UTF8, TYPE_BOOL, TYPE_DECIMAL, TYPE_DATE,
 TYPE_TIME, TYPE_TIMESTAMP) = range(1, 11)
TYPE_FIXED_SIZE_BINARY = 15
TYPE_DURATION = 18
TYPE_LARGE_BINARY, TYPE_LARGE_UTF8 = 19, 20
_UNSUPPORTED_NAMES = {
    11: "Interval", 12: "List", 13: "Struct", 14: "Union", 16: "FixedSizeList", 17: "Map",
    21: "LargeList", 22: "RunEndEncoded", 23: "BinaryView", 24: "Utf8View", 25: "ListView",
    26: "LargeListView",
}

_U32 = struct.Struct("<I")


# -- reading ------------------------------------------------------------------------------------

class Reader:
    """Slot access to one flatbuffer table."""

    __slots__ = ("tab",)

    def __init__(self, buf, pos):
        self.tab = FbTable(buf, pos)

    @classmethod
    def root(cls, buf):
        return cls(buf, _U32.unpack_from(buf, 0)[0])

    def _offset(self, slot):
        return self.tab.Offset(4 + 2 * slot)

    def scalar(self, slot, flags, default):
        o = self._offset(slot)
        return self.tab.Get(flags, self.tab.Pos + o) if o else default

    def string(self, slot):
        o = self._offset(slot)
        return self.tab.String(self.tab.Pos + o).decode("utf-8") if o else None

    def table(self, slot):
        o = self._offset(slot)
        if not o:
            return None
        return Reader(self.tab.Bytes, self.tab.Indirect(self.tab.Pos + o))

    def tables(self, slot):
        o = self._offset(slot)
        if not o:
            return []
        start = self.tab.Vector(o)
        return [Reader(self.tab.Bytes, self.tab.Indirect(start + 4 * i))
                for i in range(self.tab.VectorLen(o))]

    def int64_structs(self, slot):
        """A vector of structs made of int64 fields, flattened to a list of ints."""
        o = self._offset(slot)
        if not o:
            return []
        start = self.tab.Vector(o)
        count = self.tab.VectorLen(o)
        view = memoryview(self.tab.Bytes)
        return list(struct.unpack_from("<%dq" % (count * 2), view, start))


def read_metadata(r):
    """{key: value} of a `custom_metadata` vector."""
    return {kv.string(0) or "": kv.string(1) or "" for kv in r}


def read_schema(r):
    """Schema table -> `Schema`; unsupported columns are an `InvalidInput` naming them."""
    if r.scalar(0, N.Int16Flags, 0) != 0:
        raise InvalidInput("big-endian Arrow data is not supported")
    fields = [_read_field(f) for f in r.tables(1)]
    return Schema(fields, read_metadata(r.tables(2)))


def _read_field(r):
    name = r.string(0) or ""
    nullable = bool(r.scalar(1, N.BoolFlags, False))
    type_id = r.scalar(2, N.Uint8Flags, 0)
    type_table = r.table(3)
    if r.table(4) is not None:
        raise InvalidInput(
            "column `%s` is dictionary-encoded, which the Python SDK does not read" % name)
    dtype = _read_type(name, type_id, type_table)
    return Field(name, dtype, nullable, read_metadata(r.tables(6)))


def _read_type(name, type_id, t):
    if type_id in _UNSUPPORTED_NAMES or t is None and type_id != TYPE_NULL:
        kind = _UNSUPPORTED_NAMES.get(type_id, "type id %d" % type_id)
        raise InvalidInput(
            "column `%s` has type %s, which the Python SDK does not read (supported: integers, "
            "floats, Boolean, Utf8, LargeUtf8, Binary, LargeBinary, FixedSizeBinary, Date32/64, "
            "Timestamp, Time32/64, Duration, Decimal, Null)" % (name, kind))
    if type_id == TYPE_NULL:
        return T.null()
    if type_id == TYPE_INT:
        bits = t.scalar(0, N.Int32Flags, 0)
        if bits not in (8, 16, 32, 64):
            raise InvalidInput("column `%s`: integer bit width %d" % (name, bits))
        return T.DataType("int", bits, bool(t.scalar(1, N.BoolFlags, False)))
    if type_id == TYPE_FLOAT:
        return T.DataType("float", (16, 32, 64)[t.scalar(0, N.Int16Flags, 0)])
    if type_id == TYPE_BINARY:
        return T.binary()
    if type_id == TYPE_UTF8:
        return T.utf8()
    if type_id == TYPE_BOOL:
        return T.bool_()
    if type_id == TYPE_DECIMAL:
        bits = t.scalar(2, N.Int32Flags, 128)
        if bits not in (32, 64, 128, 256):
            raise InvalidInput("column `%s`: decimal bit width %d" % (name, bits))
        return T.DataType("decimal", bits, precision=t.scalar(0, N.Int32Flags, 0),
                          scale=t.scalar(1, N.Int32Flags, 0))
    if type_id == TYPE_DATE:
        return T.date32() if t.scalar(0, N.Int16Flags, 1) == 0 else T.date64()
    if type_id == TYPE_TIME:
        unit = t.scalar(0, N.Int16Flags, 1)
        bits = t.scalar(1, N.Int32Flags, 32)
        return T.DataType("time32" if bits == 32 else "time64", unit=unit)
    if type_id == TYPE_TIMESTAMP:
        return T.DataType("timestamp", unit=t.scalar(0, N.Int16Flags, 0), tz=t.string(1))
    if type_id == TYPE_DURATION:
        return T.DataType("duration", unit=t.scalar(0, N.Int16Flags, 1))
    if type_id == TYPE_FIXED_SIZE_BINARY:
        return T.fixed_size_binary(t.scalar(0, N.Int32Flags, 0))
    if type_id == TYPE_LARGE_BINARY:
        return T.large_binary()
    if type_id == TYPE_LARGE_UTF8:
        return T.large_utf8()
    raise InvalidInput("column `%s` has unknown type id %d" % (name, type_id))


# -- writing ------------------------------------------------------------------------------------

def _type_table(b, t):
    """Builds the Type union member of `t`; returns (type id, offset)."""
    kind = t.id
    simple = {"null": TYPE_NULL, "utf8": TYPE_UTF8, "large_utf8": TYPE_LARGE_UTF8,
              "binary": TYPE_BINARY, "large_binary": TYPE_LARGE_BINARY, "bool": TYPE_BOOL}
    if kind in simple:
        b.StartObject(0)
        return simple[kind], b.EndObject()
    if kind == "timestamp":
        tz = b.CreateString(t.tz) if t.tz is not None else None
        b.StartObject(2)
        b.PrependInt16Slot(0, t.unit, 0)
        if tz is not None:
            b.PrependUOffsetTRelativeSlot(1, tz, 0)
        return TYPE_TIMESTAMP, b.EndObject()
    if kind == "int":
        b.StartObject(2)
        b.PrependInt32Slot(0, t.bit_width, 0)
        b.PrependBoolSlot(1, t.signed, False)
        return TYPE_INT, b.EndObject()
    if kind == "float":
        b.StartObject(1)
        b.PrependInt16Slot(0, {16: 0, 32: 1, 64: 2}[t.bit_width], 0)
        return TYPE_FLOAT, b.EndObject()
    if kind == "decimal":
        b.StartObject(3)
        b.PrependInt32Slot(0, t.precision, 0)
        b.PrependInt32Slot(1, t.scale, 0)
        b.PrependInt32Slot(2, t.bit_width, 128)
        return TYPE_DECIMAL, b.EndObject()
    if kind in ("date32", "date64"):
        b.StartObject(1)
        b.PrependInt16Slot(0, 0 if kind == "date32" else 1, 1)
        return TYPE_DATE, b.EndObject()
    if kind in ("time32", "time64"):
        b.StartObject(2)
        b.PrependInt16Slot(0, t.unit, 1)
        b.PrependInt32Slot(1, 32 if kind == "time32" else 64, 32)
        return TYPE_TIME, b.EndObject()
    if kind == "duration":
        b.StartObject(1)
        b.PrependInt16Slot(0, t.unit, 1)
        return TYPE_DURATION, b.EndObject()
    if kind == "fixed_size_binary":
        b.StartObject(1)
        b.PrependInt32Slot(0, t.byte_width, 0)
        return TYPE_FIXED_SIZE_BINARY, b.EndObject()
    raise ValueError("cannot write type %s" % t)


def _metadata_vector(b, metadata):
    pairs = []
    for key, value in metadata.items():
        k = b.CreateString(str(key))
        v = b.CreateString(str(value))
        b.StartObject(2)
        b.PrependUOffsetTRelativeSlot(0, k, 0)
        b.PrependUOffsetTRelativeSlot(1, v, 0)
        pairs.append(b.EndObject())
    return _offset_vector(b, pairs)


def _offset_vector(b, offsets):
    b.StartVector(4, len(offsets), 4)
    for o in reversed(offsets):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def _field(b, f):
    name = b.CreateString(f.name)
    type_id, type_off = _type_table(b, f.type)
    children = _offset_vector(b, [])
    metadata = _metadata_vector(b, f.metadata) if f.metadata else None
    b.StartObject(7)
    b.PrependUOffsetTRelativeSlot(0, name, 0)
    b.PrependBoolSlot(1, f.nullable, False)
    b.PrependUint8Slot(2, type_id, 0)
    b.PrependUOffsetTRelativeSlot(3, type_off, 0)
    b.PrependUOffsetTRelativeSlot(5, children, 0)
    if metadata is not None:
        b.PrependUOffsetTRelativeSlot(6, metadata, 0)
    return b.EndObject()


def _message(b, header_type, header, body_length):
    b.StartObject(5)
    b.PrependInt16Slot(0, METADATA_V5, 0)
    b.PrependUint8Slot(1, header_type, 0)
    b.PrependUOffsetTRelativeSlot(2, header, 0)
    b.PrependInt64Slot(3, body_length, 0)
    b.Finish(b.EndObject())
    return b.Output()


def schema_message(schema):
    """Flatbuffer bytes of a Message holding `schema`."""
    b = flatbuffers.Builder(1024)
    fields = _offset_vector(b, [_field(b, f) for f in schema.fields])
    metadata = _metadata_vector(b, schema.metadata) if schema.metadata else None
    b.StartObject(4)
    b.PrependInt16Slot(0, 0, 0)
    b.PrependUOffsetTRelativeSlot(1, fields, 0)
    if metadata is not None:
        b.PrependUOffsetTRelativeSlot(2, metadata, 0)
    return _message(b, HEADER_SCHEMA, b.EndObject(), 0)


def _struct16_vector(b, pairs):
    b.StartVector(16, len(pairs), 8)
    for first, second in reversed(pairs):
        b.Prep(8, 16)
        b.PrependInt64(second)
        b.PrependInt64(first)
    return b.EndVector()


def record_batch_message(length, nodes, buffers, body_length):
    """Flatbuffer bytes of a Message holding a RecordBatch header.

    `nodes` are (length, null_count) per column, `buffers` (offset, length) in the body."""
    b = flatbuffers.Builder(64 + 16 * (len(nodes) + len(buffers)))
    buffer_vector = _struct16_vector(b, buffers)
    node_vector = _struct16_vector(b, nodes)
    b.StartObject(5)
    b.PrependInt64Slot(0, length, 0)
    b.PrependUOffsetTRelativeSlot(1, node_vector, 0)
    b.PrependUOffsetTRelativeSlot(2, buffer_vector, 0)
    return _message(b, HEADER_RECORD_BATCH, b.EndObject(), body_length)
