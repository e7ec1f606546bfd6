// Building small apache-arrow tables for the tests.
import { Field, RecordBatch, Schema, Struct, Table, makeData, vectorFromArray } from 'apache-arrow';

/**
 * A one-batch table from `[name, type, values, nullable?, metadata?]` columns; `values` is
 * an array (null for a null cell) or a Data.
 */
export function tableOf(columns, schemaMetadata = new Map()) {
  const fields = columns.map(
    ([name, type, , nullable = true, metadata = new Map()]) => new Field(name, type, nullable, metadata),
  );
  const schema = new Schema(fields, schemaMetadata);
  const children = columns.map(([, type, values]) =>
    Array.isArray(values) ? vectorFromArray(values, type).data[0] : values,
  );
  const length = children.length ? children[0].length : 0;
  const data = makeData({ type: new Struct(fields), length, nullCount: 0, children });
  return new Table(schema, [new RecordBatch(schema, data)]);
}

/** The rows of a column as an array (`get` per row). */
export function valuesOf(table, name) {
  const vector = table.getChild(name);
  return Array.from({ length: vector.length }, (_, i) => vector.get(i));
}
