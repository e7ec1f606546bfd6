// The mask's semantics, natively: bash guest-sdk/js/test.sh transforms/js/mask
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { Field, Int64, LargeUtf8, RecordBatch, Schema, Struct, Table, Utf8, makeData, vectorFromArray } from 'apache-arrow';
import { InvalidConfig, InvalidInput } from 'fastlane-guest';
import { init, transform } from './transform.js';

const sha = (s) => createHash('sha256').update(s, 'utf8').digest('hex');
const emails = ['a@example.com', null, '', 'ümlaut@日本.jp', '😀'];
const names = ['Ann', '', null, 'Bob', 'Zoë'];

function people() {
  const fields = [
    new Field('id', new Int64(), false, new Map([['k', 'v']])),
    new Field('email', new Utf8(), true),
    new Field('name', new LargeUtf8(), true),
  ];
  const schema = new Schema(fields, new Map([['origin', 'test']]));
  const children = [
    vectorFromArray([1n, 2n, 3n, 4n, 5n], new Int64()).data[0],
    vectorFromArray(emails, new Utf8()).data[0],
    vectorFromArray(names, new LargeUtf8()).data[0],
  ];
  const data = makeData({ type: new Struct(fields), length: 5, children });
  return new Table(schema, [new RecordBatch(schema, data.slice(0, 2)), new RecordBatch(schema, data.slice(2, 3))]);
}

const column = (t, name) => Array.from({ length: t.numRows }, (_, i) => t.getChild(name).get(i));

test('hashes salt + value, keeps nulls and the schema', async () => {
  init({ columns: ['email', 'name'], salt: 's' });
  const input = people();
  const out = await transform(input);
  assert.equal(out.schema, input.schema);
  assert.deepEqual(column(out, 'email'), emails.map((v) => (v === null ? null : sha(`s${v}`))));
  assert.deepEqual(column(out, 'name'), names.map((v) => (v === null ? null : sha(`s${v}`))));
  assert.deepEqual(column(out, 'id'), [1n, 2n, 3n, 4n, 5n]);
});

test('redacts with the replacement; a column named twice is masked twice', async () => {
  init({ columns: ['email'], method: 'redact', replacement: 'XY' });
  assert.deepEqual(column(await transform(people()), 'email'), emails.map((v) => (v === null ? null : 'XY')));
  init({ columns: ['name', 'name'] });
  assert.deepEqual(column(await transform(people()), 'name'), names.map((v) => (v === null ? null : sha(sha(v)))));
});

test('errors name the column or the key', async () => {
  init({ columns: ['phone'] });
  await assert.rejects(transform(people()), (e) => e instanceof InvalidInput && e.message.includes('phone'));
  init({ columns: ['id'] });
  await assert.rejects(transform(people()), (e) => e instanceof InvalidInput && e.message.includes('`id`'));
  for (const bad of [{ columns: ['a'], method: 'rot13' }, { columns: [] }, {}, { columns: ['a'], pepper: 'x' }, { columns: 'a' }]) {
    assert.throws(() => init(bad), InvalidConfig, JSON.stringify(bad));
  }
});
