import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Int64, Utf8 } from 'apache-arrow';
import { Failed, InvalidConfig, InvalidInput, checkConfig, encode, exportTransform, filterTable, log, parseConfig, toWitError } from '../src/index.js';
import { tableOf } from './tables.js';

const input = () => encode(tableOf([['id', new Int64(), [1n, 2n, 3n], false], ['name', new Utf8(), ['a', null, 'c']]]));
const witError = (f) => {
  try {
    f();
  } catch (e) {
    return e;
  }
  assert.fail('no error');
};

const author = (overrides = {}) => ({
  describe: { name: 't', version: '1.2.3', description: 'test', configSchema: { type: 'object' } },
  init() {},
  transform: (table) => filterTable(table, new Uint8Array([1, 0, 1])),
  ...overrides,
});

test('describe gives the WIT info record, the schema as JSON text', () => {
  const info = exportTransform(author()).describe();
  assert.deepEqual(info, { name: 't', version: '1.2.3', description: 'test', configSchema: '{\n  "type": "object"\n}' });
  assert.throws(() => exportTransform(author({ describe: { version: '1' } })), TypeError);
});

test('errors become the WIT error variant; anything else thrown is `failed`', () => {
  const t = exportTransform(author({
    init(config) {
      if (config.bad) throw new InvalidConfig('`bad` is bad');
      if (config.oops) null.x;
      if (config.str) throw 'a string';
    },
  }));
  assert.deepEqual(witError(() => t.init('{"bad": 1}')), { tag: 'invalid-config', val: '`bad` is bad' });
  assert.equal(witError(() => t.init('{"oops": 1}')).tag, 'failed');
  assert.match(witError(() => t.init('{"oops": 1}')).val, /^TypeError: /);
  assert.deepEqual(witError(() => t.init('{"str": 1}')), { tag: 'failed', val: 'a string' });
  assert.equal(witError(() => t.init('{not json')).tag, 'invalid-config');
  assert.deepEqual(witError(() => t.transform(input())), { tag: 'failed', val: 'init was not called' });
  t.init('');
  assert.equal(witError(() => t.transform(new Uint8Array([9, 9, 9, 9]))).tag, 'invalid-input');
});

test('transform: a table out is encoded, the input returned as is comes back as the same bytes', () => {
  const bytes = input();
  const filter = exportTransform(author());
  filter.init('{}');
  const out = filter.transform(bytes);
  assert.ok(out.length > 0 && out !== bytes);
  const same = exportTransform(author({ transform: (t) => t }));
  same.init('{}');
  assert.equal(same.transform(bytes), bytes);
  const none = exportTransform(author({ transform: () => null }));
  none.init('{}');
  assert.equal(none.transform(bytes).length, 0);
  assert.equal(none.transform(new Uint8Array(0)).length, 0);
  const wrong = exportTransform(author({ transform: () => 42 }));
  wrong.init('{}');
  assert.equal(witError(() => wrong.transform(bytes)).tag, 'failed');
});

test('async functions resolve; rejections map to the variant', async () => {
  const t = exportTransform(author({
    async transform(table) {
      await null;
      if (table.numRows === 3) throw new InvalidInput('three rows');
      return table;
    },
    async finish() {
      return null;
    },
  }));
  t.init('{}');
  await assert.rejects(t.transform(input()), (e) => e.tag === 'invalid-input' && e.val === 'three rows');
  assert.equal(await t.finish(), undefined);
});

test('finish: none by default, Some(stream) for a table', () => {
  const plain = exportTransform(author());
  plain.init('{}');
  assert.equal(plain.finish(), undefined);
  const buffered = exportTransform(author({ finish: () => tableOf([['x', new Int64(), [7n]]]) }));
  buffered.init('{}');
  assert.ok(buffered.finish() instanceof Uint8Array);
});

test('checkConfig names the key at fault; parseConfig reads blank as {}', () => {
  assert.deepEqual(parseConfig('  '), {});
  assert.throws(() => checkConfig({ a: 1 }, { required: ['b'], optional: ['a'] }), /missing field `b`/);
  assert.throws(() => checkConfig({ c: 1 }, { optional: ['a', 'b'] }), /unknown field `c`, expected one of `a`, `b`/);
  assert.throws(() => checkConfig([], {}), InvalidConfig);
});

test('toWitError and log', () => {
  assert.deepEqual(toWitError(new Failed('x')), { tag: 'failed', val: 'x' });
  assert.deepEqual(toWitError(new Error('plain')), { tag: 'failed', val: 'plain' });
  assert.deepEqual(toWitError({ a: 1 }), { tag: 'failed', val: 'thrown value {"a":1}' });
  assert.throws(() => log('loud', 'x'), TypeError);
});
