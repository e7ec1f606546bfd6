// `mask`: hashes or redacts string columns (PII); the JavaScript twin of transforms/mask.
//
// Config: `{"columns": ["email", "name"], "method": "hash", "salt": "", "replacement": "***"}`.
// - `method` `"hash"` (the default) replaces each value by the lowercase hex SHA-256 of
//   `salt + value`; `"redact"` replaces it by `replacement` (default `"***"`).
// - Nulls stay null; the schema is unchanged.
// - A configured column that is missing, or not Utf8 / LargeUtf8, is an invalid-input error
//   naming it.
//
// SHA-256 comes from the engine's native Web Crypto (`crypto.subtle.digest`, asynchronous):
// interpreted JavaScript hashing would be ~10x slower, so `transform` is async.

import { Data, RecordBatch, Table, Type } from 'apache-arrow';
import { InvalidConfig, InvalidInput, checkConfig } from 'fastlane-guest';
import pkg from './package.json' with { type: 'json' };

const CONFIG_SCHEMA = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "mask",
  "description": "Hashes or redacts string columns; nulls stay null.",
  "type": "object",
  "properties": {
    "columns": {
      "type": "array",
      "items": { "type": "string" },
      "minItems": 1,
      "description": "String columns to mask (Utf8, LargeUtf8 or Utf8View)."
    },
    "method": {
      "enum": ["hash", "redact"],
      "default": "hash",
      "description": "hash: lowercase hex SHA-256 of salt + value; redact: the replacement string."
    },
    "salt": { "type": "string", "default": "", "description": "Prepended to each value before hashing." },
    "replacement": { "type": "string", "default": "***", "description": "What redact writes instead of each value." }
  },
  "required": ["columns"],
  "additionalProperties": false
}`;

export const describe = {
  name: 'mask',
  version: pkg.version,
  description: 'Hashes (salted SHA-256) or redacts string columns',
  configSchema: CONFIG_SCHEMA,
};

/** The settings built by `init`. */
let settings = null;

export function init(config) {
  settings = null;
  checkConfig(config, { required: ['columns'], optional: ['method', 'salt', 'replacement'] });
  const { columns, method = 'hash', salt = '', replacement = '***' } = config;
  if (!Array.isArray(columns) || !columns.every((c) => typeof c === 'string')) {
    throw new InvalidConfig('`columns` must be an array of column names (strings)');
  }
  if (columns.length === 0) {
    throw new InvalidConfig('`columns` must name at least one column');
  }
  if (method !== 'hash' && method !== 'redact') {
    throw new InvalidConfig(`unknown \`method\` ${JSON.stringify(method)}, expected \`hash\` or \`redact\``);
  }
  for (const [key, value] of [['salt', salt], ['replacement', replacement]]) {
    if (typeof value !== 'string') {
      throw new InvalidConfig(`\`${key}\` must be a string`);
    }
  }
  const encoder = new TextEncoder();
  settings = { columns, method, salt: encoder.encode(salt), replacement: encoder.encode(replacement) };
}

export async function transform(table) {
  const { schema } = table;
  const indices = settings.columns.map((name) => {
    const index = schema.fields.findIndex((f) => f.name === name);
    if (index < 0) {
      throw new InvalidInput(`column \`${name}\` to mask not found`);
    }
    const { type } = schema.fields[index];
    if (type.typeId !== Type.Utf8 && type.typeId !== Type.LargeUtf8) {
      throw new InvalidInput(`column \`${name}\` to mask is ${type}, not a string column (Utf8 or LargeUtf8)`);
    }
    return index;
  });
  const batches = [];
  for (const batch of table.batches) {
    const children = [...batch.data.children];
    // In config order: a column named twice is masked twice, as the Rust mask does.
    for (const index of indices) {
      children[index] = settings.method === 'hash' ? await hashed(children[index]) : redacted(children[index]);
    }
    batches.push(new RecordBatch(schema, new Data(batch.data.type, 0, batch.numRows, 0, [], children)));
  }
  return new Table(schema, batches);
}

/** Whether row `i` of `data` holds a value. */
function validity(data) {
  const bitmap = data.nullCount > 0 ? data.nullBitmap : null;
  const offset = data.offset;
  return bitmap ? (i) => ((bitmap[(offset + i) >> 3] >> ((offset + i) & 7)) & 1) === 1 : () => true;
}

/** Offsets of `rows` values, `width` bytes each on the valid rows (0 on the null ones). */
function fixedWidthOffsets(data, width) {
  const rows = data.length;
  const large = data.type.typeId === Type.LargeUtf8;
  const valid = validity(data);
  const out = new Int32Array((rows + 1) * (large ? 2 : 1));
  const step = large ? 2 : 1;
  let end = 0;
  let values = 0;
  for (let i = 0; i < rows; i++) {
    if (valid(i)) {
      end += width;
      values++;
    }
    out[(i + 1) * step] = end;
  }
  return { offsets: large ? new BigInt64Array(out.buffer) : out, values };
}

/** Input offsets as an Int32Array read every `step` words (the low word of 64-bit offsets). */
function inputOffsets(data) {
  const offsets = data.valueOffsets;
  if (offsets instanceof BigInt64Array) {
    return [new Int32Array(offsets.buffer, offsets.byteOffset, offsets.length * 2), 2];
  }
  return [offsets, 1];
}

/** A copy of the string column `data` with every value replaced by the replacement. */
function redacted(data) {
  const bytes = settings.replacement;
  const { offsets, values } = fixedWidthOffsets(data, bytes.length);
  const out = new Uint8Array(values * bytes.length);
  // Fill by doubling: a handful of native copies whatever the row count.
  if (out.length > 0) {
    out.set(bytes, 0);
    for (let filled = bytes.length; filled < out.length; filled *= 2) {
      out.copyWithin(filled, 0, Math.min(filled, out.length - filled));
    }
  }
  return new Data(data.type, data.offset, data.length, data.nullCount, [offsets, out, data.nullBitmap]);
}

/**
 * Four hex digits for each 16-bit value, as a little-endian Uint32 holding their ASCII codes:
 * a digest word becomes 8 digits in two lookups. Built when the module loads, which is at
 * build time (the component starts from a snapshot of the initialised engine).
 */
const HEX4 = (() => {
  const digits = new TextEncoder().encode('0123456789abcdef');
  const table = new Uint32Array(65536);
  for (let v = 0; v < 65536; v++) {
    const lo = v & 0xff;
    const hi = v >> 8;
    table[v] = digits[lo >> 4] | (digits[lo & 15] << 8) | (digits[hi >> 4] << 16) | (digits[hi & 15] << 24);
  }
  return table;
})();

/** A copy of the string column `data` with every value replaced by its salted SHA-256 in hex. */
async function hashed(data) {
  const rows = data.length;
  const valid = validity(data);
  const [inOffsets, step] = inputOffsets(data);
  const { values } = data;
  const salt = settings.salt;
  let messages = null;
  if (salt.length > 0) {
    // salt + value of every valid row, side by side in one buffer.
    let total = 0;
    for (let i = 0; i < rows; i++) {
      if (valid(i)) {
        total += salt.length + inOffsets[(i + 1) * step] - inOffsets[i * step];
      }
    }
    messages = new Uint8Array(total);
  }
  const digests = [];
  let pos = 0;
  for (let i = 0; i < rows; i++) {
    if (!valid(i)) {
      continue;
    }
    const value = values.subarray(inOffsets[i * step], inOffsets[(i + 1) * step]);
    if (messages === null) {
      digests.push(crypto.subtle.digest('SHA-256', value));
    } else {
      const message = messages.subarray(pos, pos + salt.length + value.length);
      message.set(salt, 0);
      message.set(value, salt.length);
      pos += message.length;
      digests.push(crypto.subtle.digest('SHA-256', message));
    }
  }
  const hashes = await Promise.all(digests);
  const { offsets, values: count } = fixedWidthOffsets(data, 64);
  const out = new Uint32Array(count * 16);
  let p = 0;
  for (const hash of hashes) {
    const words = new Uint32Array(hash);
    for (let k = 0; k < 8; k++) {
      const w = words[k];
      out[p++] = HEX4[w & 0xffff];
      out[p++] = HEX4[w >>> 16];
    }
  }
  return new Data(data.type, data.offset, data.length, data.nullCount, [offsets, new Uint8Array(out.buffer), data.nullBitmap]);
}
