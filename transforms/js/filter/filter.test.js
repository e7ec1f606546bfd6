// The filter's semantics, natively: bash guest-sdk/js/test.sh transforms/js/filter
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bool, DateDay, Field, Float32, Float64, Int8, Int64, LargeUtf8, RecordBatch, Schema, Struct, Table, Uint8, Uint64, Utf8, makeData, vectorFromArray } from 'apache-arrow';
import { InvalidConfig, InvalidInput } from 'fastlane-guest';
import { init, transform } from './transform.js';
import { parseDateText, parseFloatText, parseIntegerText, serdeNumberText } from './value.js';

const DAY = 86400000;
const columns = [
  ['id', new Int64(), [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n], false],
  ['i8', new Int8(), [-128, 2, 3, null, 0, 127, 1, -1]],
  ['u8', new Uint8(), [255, 2, 3, null, 0, 127, 1, 200]],
  ['u64', new Uint64(), [2n ** 64n - 1n, 2n, 3n, null, 0n, 2n ** 63n, 1n, 100n]],
  ['f32', new Float32(), [NaN, -0, 0, null, -Infinity, 1, 2.5, 0.1]],
  ['amount', new Float64(), [NaN, -0, 0, null, -Infinity, Infinity, 2.5, 100]],
  ['flag', new Bool(), [true, false, null, true, false, true, null, false]],
  ['name', new Utf8(), ['ümlaut', '', null, '日本', '😀', '100', 'Zed', 'a']],
  ['note', new LargeUtf8(), ['b', null, 'a', 'ab', '', 'B', 'ba', 'b']],
  ['day', new DateDay(), [0, 1, null, 19737, -1, 19738, 20000, 19737].map((d) => (d === null ? null : d * DAY))],
];

function table() {
  const fields = columns.map(([name, type, , nullable = true]) => new Field(name, type, nullable));
  const schema = new Schema(fields);
  const children = columns.map(([, type, values]) => vectorFromArray(values, type).data[0]);
  // Two batches, so per-batch masks are stitched together.
  const data = makeData({ type: new Struct(fields), length: 8, children });
  return new Table(schema, [new RecordBatch(schema, data.slice(0, 5)), new RecordBatch(schema, data.slice(5, 3))]);
}

function ids(config) {
  init(JSON.parse(config), config);
  const out = transform(table());
  const id = out.getChild('id');
  return Array.from({ length: out.numRows }, (_, i) => Number(id.get(i)));
}

test('floats compare in IEEE total order: -0 < 0, NaN equals NaN and is above +inf', () => {
  assert.deepEqual(ids('{"column":"amount","op":"gt","value":1}'), [0, 5, 6, 7]);
  assert.deepEqual(ids('{"column":"amount","op":"eq","value":0}'), [2]);
  assert.deepEqual(ids('{"column":"amount","op":"lt","value":0}'), [1, 4]);
  assert.deepEqual(ids('{"column":"amount","op":"eq","value":"NaN"}'), [0]);
  assert.deepEqual(ids('{"column":"amount","op":"ge","value":"inf"}'), [0, 5]);
  assert.deepEqual(ids('{"column":"amount","op":"eq","value":-0.0}'), [1]);
  assert.deepEqual(ids('{"column":"f32","op":"eq","value":0.1}'), [7]);
  assert.deepEqual(ids('{"column":"f32","op":"le","value":"-0"}'), [1, 4]);
});

test('integers: exact, or as Float64 when the value does not fit the type', () => {
  assert.deepEqual(ids('{"column":"i8","op":"lt","value":2.5}'), [0, 1, 4, 6, 7]);
  assert.deepEqual(ids('{"column":"u8","op":"lt","value":300}'), [0, 1, 2, 4, 5, 6, 7]);
  assert.deepEqual(ids('{"column":"u8","op":"ge","value":-1}'), [0, 1, 2, 4, 5, 6, 7]);
  assert.deepEqual(ids('{"column":"i8","op":"eq","value":"2"}'), [1]);
  assert.deepEqual(ids('{"column":"u64","op":"eq","value":18446744073709551615}'), [0]);
  assert.deepEqual(ids('{"column":"u64","op":"gt","value":9223372036854775807}'), [0, 5]);
  assert.deepEqual(ids('{"column":"id","op":"ne","value":3}'), [0, 1, 2, 4, 5, 6, 7]);
  assert.deepEqual(ids('{"column":"id","op":"gt","value":-0.0}'), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(ids('{"column":"id","op":"eq","value":-0.0}'), []);
});

test('strings by code point, numbers as their JSON text; bools; dates', () => {
  assert.deepEqual(ids('{"column":"name","op":"gt","value":"a"}'), [0, 3, 4]);
  assert.deepEqual(ids('{"column":"name","op":"eq","value":100}'), [5]);
  assert.deepEqual(ids('{"column":"name","op":"le","value":""}'), [1]);
  assert.deepEqual(ids('{"column":"note","op":"ge","value":"b"}'), [0, 6, 7]);
  assert.deepEqual(ids('{"column":"flag","op":"eq","value":true}'), [0, 3, 5]);
  assert.deepEqual(ids('{"column":"flag","op":"lt","value":"true"}'), [1, 4, 7]);
  assert.deepEqual(ids('{"column":"day","op":"eq","value":"2024-01-15"}'), [3, 7]);
  assert.deepEqual(ids('{"column":"day","op":"lt","value":"1970-01-02"}'), [0, 4]);
});

test('null tests keep exactly the null cells (or the others)', () => {
  assert.deepEqual(ids('{"column":"flag","op":"is_null"}'), [2, 6]);
  assert.deepEqual(ids('{"column":"note","op":"is_not_null"}'), [0, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(ids('{"column":"id","op":"is_null"}'), []);
});

test('config errors are invalid-config; a missing column is invalid-input', () => {
  for (const bad of [
    '{"column":"id","op":"like","value":1}',
    '{"column":"id","op":"gt"}',
    '{"column":"id","op":"is_null","value":1}',
    '{"column":"id","op":"gt","value":[1]}',
    '{"column":"id"}',
    '{"column":"id","op":"gt","value":1,"extra":true}',
    '{"column":"id","op":"gt","value":1e400}',
  ]) {
    assert.throws(() => init(JSON.parse(bad.replace('1e400', '1')), bad), InvalidConfig, bad);
  }
  for (const bad of [
    '{"column":"amount","op":"gt","value":"lots"}',
    '{"column":"i8","op":"gt","value":"2.5"}',
    '{"column":"flag","op":"eq","value":2}',
    '{"column":"day","op":"eq","value":"2024-02-30"}',
  ]) {
    init(JSON.parse(bad), bad);
    assert.throws(() => transform(table()), (e) => e instanceof InvalidConfig && e.message.includes('cannot be compared'), bad);
  }
  init({}, '{"column":"nope","op":"eq","value":1}');
  assert.throws(() => transform(table()), (e) => e instanceof InvalidInput && e.message.includes('nope'));
});

test('value conversion follows arrow-cast and serde_json', () => {
  assert.equal(serdeNumberText('1'), '1');
  assert.equal(serdeNumberText('1.0'), '1.0');
  assert.equal(serdeNumberText('-0'), '-0.0');
  assert.equal(serdeNumberText('1e20'), '1e+20');
  assert.equal(serdeNumberText('1E5'), '100000.0');
  assert.equal(serdeNumberText('0.000025'), '0.000025');
  assert.equal(serdeNumberText('0.000001'), '1e-6');
  assert.equal(serdeNumberText('18446744073709551616'), '1.8446744073709552e+19');
  assert.equal(serdeNumberText('1e400'), null);
  assert.equal(parseIntegerText(' +7 ', 8, true), 7n);
  assert.equal(parseIntegerText('-0', 8, false), 0n);
  assert.equal(parseIntegerText('128', 8, true), null);
  assert.equal(parseIntegerText('1.0', 64, true), null);
  assert.deepEqual(parseFloatText('-nan'), { value: NaN, negative: true });
  assert.equal(parseFloatText('.5').value, 0.5);
  assert.equal(parseFloatText('1e'), null);
  assert.equal(parseDateText('2024-1-5'), 19727);
  assert.equal(parseDateText('20240115'), 19737);
  assert.equal(parseDateText('2024-01-15T23:30:00-01:00'), 19738);
  assert.equal(parseDateText('+2024-01-15'), 19737);
  assert.equal(parseDateText('2024-13-01'), null);
});
