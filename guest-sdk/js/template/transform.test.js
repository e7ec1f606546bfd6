// Unit tests, run natively with node: bash {{sdk_dir}}/js/test.sh .
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Field, Int64, RecordBatch, Schema, Struct, Table, Utf8, makeData, vectorFromArray } from 'apache-arrow';
import { InvalidConfig, InvalidInput } from 'fastlane-guest';
import { init, transform } from './transform.js';

const people = () => {
  const schema = new Schema([new Field('id', new Int64(), false), new Field('name', new Utf8(), true)]);
  const id = vectorFromArray([1n, 2n, 3n], new Int64());
  const name = vectorFromArray(['ümlaut', null, '日本'], new Utf8());
  const data = makeData({ type: new Struct(schema.fields), length: 3, children: [id.data[0], name.data[0]] });
  return new Table(schema, [new RecordBatch(schema, data)]);
};

test('upper-cases and keeps nulls', () => {
  init({});
  const out = transform(people());
  assert.deepEqual(out.getChild('name').toArray(), ['ÜMLAUT', null, '日本']);
  assert.equal(out.schema.fields[0].nullable, false);
});

test('a missing column is named', () => {
  assert.throws(() => init({ col: 'x' }), InvalidConfig);
  init({ column: 'email' });
  assert.throws(() => transform(people()), (e) => e instanceof InvalidInput && e.message.includes('email'));
});
