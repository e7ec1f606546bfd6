// Small helpers on apache-arrow tables.

import { Data, RecordBatch, Struct, Type, Vector } from 'apache-arrow';
import { InvalidInput } from './errors.js';

/** The column called `name` (a `Vector`), or `InvalidInput` naming it and the columns present. */
export function column(table, name) {
  const index = table.schema.fields.findIndex((f) => f.name === name);
  if (index < 0) {
    const present = table.schema.fields.map((f) => f.name).join(', ');
    throw new InvalidInput(`column \`${name}\` not found (columns: ${present})`);
  }
  return table.getChildAt(index);
}

/** A batch of `schema` with no rows, every column (nested ones included) well formed. */
export function emptyBatch(schema) {
  const type = new Struct(schema.fields);
  return new RecordBatch(schema, emptyData(type));
}

/** A zero-length `Data` of `type`, with the buffers a reader expects (offsets `[0]`). */
export function emptyData(type) {
  switch (type.typeId) {
    case Type.Null:
      return new Data(type, 0, 0, 0, []);
    case Type.Utf8:
    case Type.Binary:
      return new Data(type, 0, 0, 0, [new Int32Array(1), new Uint8Array(0)]);
    case Type.LargeUtf8:
    case Type.LargeBinary:
      return new Data(type, 0, 0, 0, [new BigInt64Array(1), new Uint8Array(0)]);
    case Type.List:
    case Type.Map:
      return new Data(type, 0, 0, 0, [new Int32Array(1)], [emptyData(type.children[0].type)]);
    case Type.LargeList:
      return new Data(type, 0, 0, 0, [new BigInt64Array(1)], [emptyData(type.children[0].type)]);
    case Type.FixedSizeList:
      return new Data(type, 0, 0, 0, [], [emptyData(type.children[0].type)]);
    case Type.Struct:
      return new Data(type, 0, 0, 0, [], type.children.map((f) => emptyData(f.type)));
    case Type.Union:
      return new Data(type, 0, 0, 0, [new Int32Array(0), undefined, undefined, new type.ArrayType(0)],
        type.children.map((f) => emptyData(f.type)));
    case Type.Dictionary:
      return new Data(type, 0, 0, 0, [undefined, new type.indices.ArrayType(0)], [],
        new Vector([emptyData(type.dictionary)]));
    default:
      return new Data(type, 0, 0, 0, [undefined, new type.ArrayType(0)]);
  }
}
