"""Arrow IPC *stream* reader and writer (the bytes the host and the transform exchange).

A stream is a sequence of encapsulated messages: 0xFFFFFFFF, an int32 metadata length, a
flatbuffer `Message` padded to 8 bytes, then the message body; a zero length ends it. The first
message is the Schema, the others RecordBatches. Buffers are read in place (memoryview slices of
the input) and written back as they are when a column was not changed.
"""

import struct

from flatbuffers import number_types as N

from ..column import Column
from ..errors import InvalidInput
from ..table import Table
from . import _format as F

_I32 = struct.Struct("<i")
_CONTINUATION = b"\xff\xff\xff\xff"
_EOS = _CONTINUATION + b"\x00\x00\x00\x00"
_ALIGN = 8
_PADDING = bytes(64)
_VARIABLE = ("utf8", "large_utf8", "binary", "large_binary")

# Every call of one stream carries the same schema: parse and build it once per instance.
_schemas_read = {}
_schema_written = [None, b""]


def read_stream(data):
    """(Schema, [Table]) of one IPC stream; `InvalidInput` when it is malformed or unsupported."""
    view = memoryview(data)
    if view.ndim != 1 or view.itemsize != 1:
        view = view.cast("B")
    size = len(view)
    pos = 0
    schema = None
    tables = []
    while pos + 4 <= size:
        length = _I32.unpack_from(view, pos)[0]
        pos += 4
        if length == -1:
            if pos + 4 > size:
                raise InvalidInput("Arrow IPC stream ends inside a message header")
            length = _I32.unpack_from(view, pos)[0]
            pos += 4
        if length == 0:
            break
        if length < 0 or pos + length > size:
            raise InvalidInput("Arrow IPC message of %d bytes overruns the stream" % length)
        meta = view[pos:pos + length]
        pos += length
        try:
            message = F.Reader.root(meta)
            version = message.scalar(0, N.Int16Flags, 0)
            header_type = message.scalar(1, N.Uint8Flags, 0)
            header = message.table(2)
            body_length = message.scalar(3, N.Int64Flags, 0)
        except (struct.error, IndexError, ValueError) as e:
            raise InvalidInput("malformed Arrow IPC message: %s" % e) from None
        if body_length < 0 or pos + body_length > size:
            raise InvalidInput("Arrow IPC body of %d bytes overruns the stream" % body_length)
        body = view[pos:pos + body_length]
        pos += body_length
        if version < F.METADATA_V4:
            raise InvalidInput("Arrow IPC metadata version V%d is too old (need V4+)" % (version + 1))
        if header is None:
            raise InvalidInput("Arrow IPC message without a header")
        if header_type == F.HEADER_SCHEMA:
            if schema is not None:
                raise InvalidInput("Arrow IPC stream has two schema messages")
            key = bytes(meta)
            schema = _schemas_read.get(key)
            if schema is None:
                schema = F.read_schema(header)
                if len(_schemas_read) > 16:
                    _schemas_read.clear()
                _schemas_read[key] = schema
        elif header_type == F.HEADER_RECORD_BATCH:
            if schema is None:
                raise InvalidInput("Arrow IPC record batch before the schema")
            tables.append(_read_batch(schema, header, body))
        elif header_type == F.HEADER_DICTIONARY_BATCH:
            raise InvalidInput("dictionary batches are not supported by the Python SDK")
        else:
            raise InvalidInput("unexpected Arrow IPC message type %d" % header_type)
    if schema is None:
        raise InvalidInput("Arrow IPC stream has no schema message")
    return schema, tables


def _read_batch(schema, header, body):
    length = header.scalar(0, N.Int64Flags, 0)
    if header.table(3) is not None:
        raise InvalidInput("compressed Arrow IPC bodies are not supported by the Python SDK; "
                           "send uncompressed batches")
    nodes = header.int64_structs(1)
    buffers = header.int64_structs(2)
    body_size = len(body)
    columns = []
    b = 0
    for i, field in enumerate(schema.fields):
        if 2 * i + 1 >= len(nodes):
            raise InvalidInput("record batch has fewer nodes than the schema has fields")
        n, nulls = nodes[2 * i], nodes[2 * i + 1]
        if n != length:
            raise InvalidInput("column `%s` has %d rows in a batch of %d" % (field.name, n, length))
        kind = field.type.id
        count = 0 if kind == "null" else 3 if kind in _VARIABLE else 2
        if 2 * (b + count) > len(buffers):
            raise InvalidInput("record batch has fewer buffers than its columns need")
        parts = []
        for k in range(b, b + count):
            offset, size = buffers[2 * k], buffers[2 * k + 1]
            if offset < 0 or size < 0 or offset + size > body_size:
                raise InvalidInput("buffer %d of column `%s` lies outside the body" % (
                    k - b, field.name))
            parts.append(body[offset:offset + size])
        b += count
        _check_sizes(field, n, nulls, parts)
        validity = parts[0] if parts and nulls else None
        columns.append(Column.from_buffers(field.type, n, nulls, validity, parts[1:], field.name))
    table = Table.__new__(Table)
    table._init(schema, columns, length)
    return table


def _check_sizes(field, n, nulls, parts):
    """Refuses buffers too short for `n` values (so no value is read past its buffer)."""
    t = field.type
    kind = t.id
    if kind == "null":
        return
    bitmap = (n + 7) >> 3
    if nulls and len(parts[0]) < bitmap:
        raise InvalidInput("column `%s`: validity buffer too short" % field.name)
    if kind == "bool":
        need = bitmap
    elif kind in _VARIABLE:
        width = 8 if kind.startswith("large") else 4
        offsets, data = parts[1], parts[2]
        if len(offsets) < (n + 1) * width:
            raise InvalidInput("column `%s`: offsets buffer too short" % field.name)
        code = "<q" if width == 8 else "<i"
        first = struct.unpack_from(code, offsets, 0)[0]
        last = struct.unpack_from(code, offsets, n * width)[0]
        if first < 0 or last < first or last > len(data):
            raise InvalidInput("column `%s`: offsets point outside the data" % field.name)
        return
    else:
        need = n * t.width
    if len(parts[1]) < need:
        raise InvalidInput("column `%s`: data buffer too short" % field.name)


def write_stream(schema, tables):
    """One IPC stream: the schema, the tables' batches (empty ones skipped, but one batch is
    always written) and the end-of-stream marker."""
    parts = []
    if _schema_written[0] is not schema and _schema_written[0] != schema:
        _schema_written[:] = [schema, F.schema_message(schema)]
    _append_message(parts, _schema_written[1], ())
    written = 0
    for table in tables:
        if table.num_rows:
            _write_batch(parts, table)
            written += 1
    if not written:
        _write_batch(parts, tables[0] if tables else _empty(schema))
    parts.append(_EOS)
    return b"".join(parts)


def _empty(schema):
    columns = [Column([], f.type, f.name) for f in schema.fields]
    return Table.from_columns(schema, columns, 0)


def _write_batch(parts, table):
    nodes, buffers, body = [], [], []
    offset = 0
    for col in table.columns:
        n = len(col)
        nodes.append((n, col.null_count))
        if col.type.id == "null":
            continue
        validity = col.validity if col.null_count else b""
        for buf in (validity,) + tuple(col.buffers):
            size = len(buf)
            buffers.append((offset, size))
            body.append(buf)
            pad = -size % _ALIGN
            if pad:
                body.append(_PADDING[:pad])
            offset += size + pad
    meta = F.record_batch_message(table.num_rows, nodes, buffers, offset)
    _append_message(parts, meta, body)


def _append_message(parts, meta, body):
    pad = -(len(meta) + 8) % _ALIGN
    parts.append(_CONTINUATION)
    parts.append(_I32.pack(len(meta) + pad))
    parts.append(meta)
    if pad:
        parts.append(_PADDING[:pad])
    parts.extend(body)
