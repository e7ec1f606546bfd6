import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DateDay, Decimal, Int64, LargeUtf8, RecordBatch, Table, TimestampMicrosecond, Utf8, tableToIPC } from 'apache-arrow';
import { InvalidInput, decode, emptyBatch, encode } from '../src/index.js';
import { tableOf, valuesOf } from './tables.js';

const people = () =>
  tableOf(
    [
      ['id', new Int64(), [1n, 2n, 3n], false, new Map([['comment', 'key']])],
      ['name', new Utf8(), ['ümlaut', null, '日本']],
      ['note', new LargeUtf8(), ['a', '', null]],
      ['day', new DateDay(), [0, 86400000, null]],
      ['at', new TimestampMicrosecond('UTC'), [1, null, 3]],
      ['price', new Decimal(2, 12, 128), [new Uint32Array([125, 0, 0, 0]), null, new Uint32Array([1, 0, 0, 0])]],
    ],
    new Map([['origin', 'test']]),
  );

test('decode(encode(t)) keeps types, nullability and metadata', () => {
  const table = people();
  const back = decode(encode(table));
  assert.deepEqual(back.schema.fields.map(String), table.schema.fields.map(String));
  assert.deepEqual(back.schema.fields.map((f) => f.nullable), [false, true, true, true, true, true]);
  assert.equal(String(back.schema.fields[3].type), 'Date32<DAY>');
  assert.equal(String(back.schema.fields[4].type), 'Timestamp<MICROSECOND, UTC>');
  assert.equal(String(back.schema.fields[5].type), 'Decimal[12e+2]');
  assert.deepEqual([...back.schema.metadata], [['origin', 'test']]);
  assert.deepEqual([...back.schema.fields[0].metadata], [['comment', 'key']]);
  assert.deepEqual(valuesOf(back, 'name'), ['ümlaut', null, '日本']);
});

test('empty batches are left out, but a stream without rows keeps one', () => {
  const table = people();
  const empty = table.slice(0, 0).batches[0];
  const twoEmpty = decode(encode(new Table(table.schema, [empty, empty])));
  assert.equal(twoEmpty.batches.length, 1);
  assert.equal(twoEmpty.numRows, 0);
  const mixed = decode(encode([empty, table.batches[0], empty]));
  assert.equal(mixed.batches.length, 1);
  assert.equal(mixed.numRows, 3);
});

test('a schema-only stream decodes to one well-formed batch without rows', () => {
  const table = people();
  const schemaOnly = tableToIPC(new Table(table.schema, []), 'stream');
  const decoded = decode(schemaOnly);
  assert.equal(decoded.numRows, 0);
  assert.ok(decoded.batches.every((b) => b.numRows === 0));
  assert.deepEqual([...decoded.getChild('name').data[0].valueOffsets], [0]);
  const batch = emptyBatch(decoded.schema);
  assert.ok(batch instanceof RecordBatch);
  const again = decode(encode(batch));
  assert.equal(again.numRows, 0);
  assert.deepEqual(again.schema.fields.map(String), table.schema.fields.map(String));
});

test('garbage is InvalidInput; unaligned input is copied', () => {
  assert.throws(() => decode(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])), InvalidInput);
  const bytes = encode(people());
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  assert.equal(decode(shifted.subarray(1)).numRows, 3);
});
