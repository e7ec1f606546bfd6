import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Binary, Bool, DateDay, Decimal, Float32, Float64, Int8, Int16, Int32, Int64, LargeUtf8, List, Field,
  Struct, TimestampMicrosecond, TimestampMillisecond, Uint8, Uint64, Utf8, tableFromIPC, tableToIPC,
} from 'apache-arrow';
import { filterTable, keptRuns } from '../src/index.js';
import { tableOf, valuesOf } from './tables.js';

const sample = () =>
  tableOf(
    [
      ['id', new Int64(), [1n, 2n, 3n, 4n, 5n, 6n], false, new Map([['comment', 'key']])],
      ['i8', new Int8(), [-128, null, 0, 1, 127, null]],
      ['i16', new Int16(), [1, 2, null, 4, 5, 6]],
      ['i32', new Int32(), [null, 2, 3, 4, 5, -6]],
      ['u8', new Uint8(), [255, 0, null, 3, 4, 5]],
      ['u64', new Uint64(), [2n ** 64n - 1n, 0n, null, 3n, 4n, 5n]],
      ['f32', new Float32(), [NaN, -0, 0, null, Infinity, 1.5]],
      ['f64', new Float64(), [NaN, -0, null, -Infinity, 1e300, 2.5]],
      ['flag', new Bool(), [true, false, null, true, true, false]],
      ['name', new Utf8(), ['ümlaut', '', null, '日本', '😀', 'z']],
      ['note', new LargeUtf8(), ['a', null, 'ccc', '', 'e', 'ffff']],
      ['blob', new Binary(), [new Uint8Array([1]), null, new Uint8Array(0), new Uint8Array([2, 3]), null, new Uint8Array([4])]],
      ['day', new DateDay(), [0, 19000, null, -1, 1, 2].map((d) => (d === null ? null : d * 86400000))],
      ['at', new TimestampMicrosecond('UTC'), [1n, 2n, null, 4n, 5n, 6n].map((v) => (v === null ? null : Number(v)))],
      ['local', new TimestampMillisecond(), [10, null, 30, 40, 50, 60]],
      ['price', new Decimal(2, 12, 128), [new Uint32Array([1, 0, 0, 0]), null, new Uint32Array([2, 0, 0, 0]), new Uint32Array([3, 0, 0, 0]), null, new Uint32Array([4, 0, 0, 0])]],
      ['items', new List(new Field('item', new Int32(), true)), [[1, 2], null, [], [3], [4, null], [5, 6, 7]]],
      ['point', new Struct([new Field('x', new Int16(), true), new Field('label', new Utf8(), true)]), [{ x: 1, label: 'a' }, null, { x: 3, label: null }, { x: 4, label: 'd' }, { x: 5, label: 'e' }, { x: 6, label: 'f' }]],
    ],
    new Map([['origin', 'test']]),
  );

/** The rows of every column of `table` at `rows`, via `get`. */
const rowsAt = (table, rows) =>
  Object.fromEntries(table.schema.fields.map((f) => [f.name, rows.map((i) => normalize(table.getChild(f.name).get(i)))]));
const normalize = (v) => (v && typeof v === 'object' && typeof v.toJSON === 'function' ? JSON.stringify(v) : v);

test('keeps the selected rows of every type, with the same schema object', () => {
  const table = sample();
  for (const rows of [[0, 2, 3, 5], [1], [0, 1, 2, 3, 4], [4, 5], []]) {
    const keep = new Uint8Array(table.numRows);
    for (const r of rows) keep[r] = 1;
    const out = filterTable(table, keep);
    assert.equal(out.schema, table.schema);
    assert.equal(out.numRows, rows.length);
    assert.deepEqual(rowsAt(out, rows.map((_, i) => i)), rowsAt(table, rows));
    // Through IPC too: same types, nullability and metadata on the way back.
    const back = tableFromIPC(tableToIPC(out, 'stream'));
    assert.deepEqual(back.schema.fields.map(String), table.schema.fields.map(String));
    assert.deepEqual([...back.schema.fields[0].metadata], [['comment', 'key']]);
    assert.deepEqual(rowsAt(back, rows.map((_, i) => i)), rowsAt(table, rows));
  }
});

test('keeping every row returns the table itself', () => {
  const table = sample();
  assert.equal(filterTable(table, new Uint8Array(table.numRows).fill(1)), table);
});

test('NaN payloads and signs survive (values move as words)', () => {
  const f64 = new Float64Array([0, 0, 0]);
  const words = new Int32Array(f64.buffer);
  words[1] = 0xfff80000 | 0; // -NaN
  words[3] = 0x7ff00000; words[2] = 1; // signalling NaN payload 1
  const table = tableOf([['x', new Float64(), [1, 2, 3]]]);
  table.batches[0].data.children[0].values.set(f64);
  const out = filterTable(table, new Uint8Array([1, 1, 0]));
  const got = new Int32Array(out.batches[0].data.children[0].values.buffer, out.batches[0].data.children[0].values.byteOffset, 4);
  assert.deepEqual([...got], [0, 0xfff80000 | 0, 1, 0x7ff00000]);
});

test('sliced inputs (offsets into bitmaps and offsets) are handled', () => {
  const table = sample().slice(1, 6);
  const keep = new Uint8Array([1, 0, 1, 1, 0]);
  const out = filterTable(table, keep);
  assert.deepEqual(rowsAt(out, [0, 1, 2]), rowsAt(table, [0, 2, 3]));
});

test('long runs are copied natively and stay exact', () => {
  const n = 1000;
  const values = Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : `v${i}`));
  const table = tableOf([['s', new Utf8(), values], ['i', new Int32(), values.map((v, i) => (v === null ? null : i))]]);
  const keep = Uint8Array.from({ length: n }, (_, i) => (i % 100 < 70 ? 1 : 0));
  const out = filterTable(table, keep);
  const expected = values.filter((_, i) => keep[i]);
  assert.deepEqual(valuesOf(out, 's'), expected);
  assert.equal(out.getChild('s').nullCount, expected.filter((v) => v === null).length);
});

test('keptRuns finds the runs of ones', () => {
  const runs = keptRuns(new Uint8Array([1, 1, 0, 0, 1, 0, 1, 1, 1]));
  assert.equal(runs.n, 3);
  assert.equal(runs.count, 6);
  assert.deepEqual([...runs.starts.subarray(0, 3)], [0, 4, 6]);
  assert.deepEqual([...runs.ends.subarray(0, 3)], [2, 5, 9]);
});

test('nullRows lists the zero bits from any bit offset; validity with few nulls', async () => {
  const { nullRows } = await import('../src/index.js');
  const bitmap = new Uint8Array([0b11110111, 0b01111111, 0b11111110]);
  assert.deepEqual([...nullRows(bitmap, 0, 24)], [3, 15, 16]);
  assert.deepEqual([...nullRows(bitmap, 3, 13)], [0, 12]);
  assert.deepEqual([...nullRows(bitmap, 4, 11)], []);
  const n = 200;
  const values = Array.from({ length: n }, (_, i) => (i % 37 === 5 ? null : i));
  const table = tableOf([['v', new Int32(), values]]);
  const keep = Uint8Array.from({ length: n }, (_, i) => (i % 3 !== 0 ? 1 : 0));
  const out = filterTable(table, keep);
  const expected = values.filter((_, i) => keep[i]);
  assert.deepEqual(valuesOf(out, 'v'), expected);
  assert.equal(out.getChild('v').nullCount, expected.filter((v) => v === null).length);
});
