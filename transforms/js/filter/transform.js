// `filter`: keeps the rows where one column compares to a value (the JavaScript twin of
// transforms/filter, with the same output on the types of transforms/README.md).
//
// Config: `{"column": "amount", "op": "gt", "value": 100}`.
// - `op` is one of `eq ne gt ge lt le` (with a `value`: a JSON number, string or bool,
//   converted to the column's type, so `"2024-01-01"` works against a date column), or
//   `is_null` / `is_not_null` (no `value`).
// - Rows where the comparison is null (a null cell) are dropped.
// - A number that does not fit the column's integer type (`100.5`, `300` against `UInt8`) is
//   compared as Float64.

import { Type } from 'apache-arrow';
import { InvalidConfig, column, filterTable } from 'fastlane-guest';
import { parse as parseLossless } from 'lossless-json';
import pkg from './package.json' with { type: 'json' };
import {
  clearNulls,
  compareBools,
  compareBytes,
  compareFloats,
  compareInt64,
  compareInt64AsFloat,
  compareNumbers,
  floatKey,
  validityIs,
} from './kernels.js';
import { parseBoolText, parseDateText, parseFloatText, parseIntegerText, serdeNumberText } from './value.js';

const CONFIG_SCHEMA = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "filter",
  "description": "Keeps the rows where \`column\` compares to \`value\` with \`op\`; rows where the comparison is null are dropped.",
  "type": "object",
  "properties": {
    "column": { "type": "string", "description": "Column to test." },
    "op": {
      "enum": ["eq", "ne", "gt", "ge", "lt", "le", "is_null", "is_not_null"],
      "description": "Comparison; is_null and is_not_null take no value."
    },
    "value": {
      "type": ["number", "string", "boolean"],
      "description": "Value to compare with, converted to the column's type."
    }
  },
  "required": ["column", "op"],
  "additionalProperties": false,
  "if": { "properties": { "op": { "enum": ["is_null", "is_not_null"] } } },
  "then": { "not": { "required": ["value"] } },
  "else": { "required": ["value"] }
}`;

export const describe = {
  name: 'filter',
  version: pkg.version,
  description: 'Keeps the rows where a column compares to a value',
  configSchema: CONFIG_SCHEMA,
};

const COMPARISONS = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'];
const NULL_TESTS = ['is_null', 'is_not_null'];

/** The predicate built by `init`. */
let predicate = null;
/** The value converted for the last column type seen (batches rarely change type). */
let comparand = null;

export function init(_config, configText) {
  predicate = null;
  comparand = null;
  predicate = readConfig(configText);
}

export function transform(table) {
  const index = table.schema.fields.findIndex((f) => f.name === predicate.column);
  if (index < 0) {
    column(table, predicate.column); // throws InvalidInput naming the column
  }
  const keep = new Uint8Array(table.numRows);
  let start = 0;
  for (const batch of table.batches) {
    const data = batch.data.children[index];
    rowsToKeep(data, keep.subarray(start, start + data.length));
    start += data.length;
  }
  return filterTable(table, keep);
}

/** Parses and checks the config; numbers keep their JSON text (a u64 does not fit a double). */
function readConfig(text) {
  let config;
  try {
    config = parseLossless(text.trim() === '' ? '{}' : text, null, (literal) => new JsonNumber(literal));
  } catch (e) {
    throw new InvalidConfig(`the config is not valid JSON: ${e.message}`);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new InvalidConfig('the config must be a JSON object');
  }
  for (const key of Object.keys(config)) {
    if (!['column', 'op', 'value'].includes(key)) {
      throw new InvalidConfig(`unknown field \`${key}\`, expected one of \`column\`, \`op\`, \`value\``);
    }
  }
  const { column: name, op, value } = config;
  if (name === undefined) {
    throw new InvalidConfig('missing field `column`');
  }
  if (typeof name !== 'string') {
    throw new InvalidConfig('`column` must be a string');
  }
  if (op === undefined) {
    throw new InvalidConfig('missing field `op`');
  }
  if (![...COMPARISONS, ...NULL_TESTS].includes(op)) {
    throw new InvalidConfig(
      `unknown \`op\` ${JSON.stringify(op)}, expected one of ${[...COMPARISONS, ...NULL_TESTS].join(', ')}`,
    );
  }
  const hasValue = value !== undefined && value !== null;
  if (NULL_TESTS.includes(op)) {
    if (hasValue) {
      throw new InvalidConfig(`\`op\` "${op}" takes no \`value\`, got ${showValue(value)}`);
    }
    return { column: name, op };
  }
  if (!hasValue) {
    throw new InvalidConfig(`\`op\` "${op}" needs a \`value\` (number, string or bool)`);
  }
  if (typeof value === 'string') {
    return { column: name, op, text: value, isNumber: false };
  }
  if (typeof value === 'boolean') {
    return { column: name, op, text: String(value), isNumber: false };
  }
  if (value instanceof JsonNumber) {
    const text = serdeNumberText(value.literal);
    if (text === null) {
      throw new InvalidConfig(`\`value\` ${value.literal} is out of range`);
    }
    return { column: name, op, text, isNumber: true };
  }
  throw new InvalidConfig(`\`value\` must be a number, string or bool, got ${showValue(value)}`);
}

/** A JSON number, as written in the config. */
class JsonNumber {
  constructor(literal) {
    this.literal = literal;
  }

  toJSON() {
    return Number(this.literal);
  }
}

function showValue(value) {
  return JSON.stringify(value);
}

/** Writes 1 into `keep` for the rows of `data` (one column of one batch) that pass. */
function rowsToKeep(data, keep) {
  const { op } = predicate;
  const hasNulls = data.nullCount > 0;
  if (op === 'is_null' || op === 'is_not_null') {
    const want = op === 'is_null' ? 0 : 1;
    if (data.typeId === Type.Null) {
      keep.fill(want === 0 ? 1 : 0);
    } else if (!hasNulls) {
      keep.fill(want);
    } else {
      validityIs(data.nullBitmap, data.offset, want, keep);
    }
    return;
  }
  const key = String(data.type);
  if (comparand === null || comparand.key !== key) {
    comparand = convert(data.type, key);
  }
  compare(data, comparand, op, keep);
  if (hasNulls) {
    clearNulls(keep, data.nullBitmap, data.offset, data.nullCount);
  }
}

/** The config's value converted for a column of `type`, as the kernels take it. */
function convert(type, key) {
  const { text, isNumber } = predicate;
  const fail = () =>
    new InvalidConfig(
      `\`value\` ${JSON.stringify(text)} cannot be compared with column \`${predicate.column}\` of type ${typeName(type)}: cannot convert ${JSON.stringify(text)} to ${typeName(type)}`,
    );
  switch (type.typeId) {
    case Type.Int: {
      const exact = parseIntegerText(text, type.bitWidth, type.isSigned);
      if (exact !== null) {
        if (type.bitWidth === 64) {
          const hi = type.isSigned ? Number(BigInt.asIntN(32, exact >> 32n)) : Number(exact >> 32n);
          return { key, kind: 'int64', hi, lo: Number(exact & 0xffffffffn) };
        }
        return { key, kind: 'number', x: Number(exact) };
      }
      if (!isNumber) {
        throw fail();
      }
      // A number the integer type cannot hold: both sides as Float64.
      const x = Number(text);
      return { key, kind: type.bitWidth === 64 ? 'int64-float' : 'number', x: Object.is(x, -0) ? -0.5 : x };
    }
    case Type.Float: {
      if (type.precision === 0) {
        break; // Float16
      }
      const parsed = parseFloatText(text);
      if (parsed === null) {
        throw fail();
      }
      const wide = type.precision === 2;
      const x = wide ? parsed.value : Math.fround(parsed.value);
      return { key, kind: 'float', wide, x, xKey: floatBitsKey(x, parsed.negative, wide) };
    }
    case Type.Utf8:
    case Type.LargeUtf8:
      return { key, kind: 'bytes', x: new TextEncoder().encode(text) };
    case Type.Bool: {
      const b = parseBoolText(text);
      if (b === null) {
        throw fail();
      }
      return { key, kind: 'bool', x: b ? 1 : 0 };
    }
    case Type.Date: {
      if (type.unit !== 0) {
        break; // Date64
      }
      const days = parseDateText(text);
      if (days === null) {
        throw fail();
      }
      return { key, kind: 'number', x: days };
    }
    default:
      break;
  }
  throw new InvalidConfig(
    `column \`${predicate.column}\` of type ${typeName(type)} cannot be compared with a value: the JavaScript filter compares integer, Float32/Float64, Utf8/LargeUtf8, Boolean and Date32 columns`,
  );
}

/** The total-order key of the float `x` (whose sign, for a NaN, is `negative`). */
function floatBitsKey(x, negative, wide) {
  const words = new Int32Array(2);
  if (x !== x) {
    // The quiet NaN the parser makes, with the sign asked for.
    if (wide) {
      words[1] = negative ? 0xfff80000 | 0 : 0x7ff80000;
    } else {
      words[0] = negative ? 0xffc00000 | 0 : 0x7fc00000;
    }
  } else if (wide) {
    new Float64Array(words.buffer)[0] = x;
  } else {
    new Float32Array(words.buffer)[0] = x;
  }
  return floatKey(words, 0, wide);
}

/** Runs the kernel for the comparand's kind over `data`. */
function compare(data, c, op, keep) {
  const values = data.values;
  switch (c.kind) {
    case 'number':
      compareNumbers(values, c.x, op, keep);
      return;
    case 'int64':
      compareInt64(words32(values), data.type.isSigned, c.hi, c.lo, op, keep);
      return;
    case 'int64-float':
      compareInt64AsFloat(words32(values), data.type.isSigned, c.x, op, keep);
      return;
    case 'float':
      compareFloats(values, words32(values), c.wide, c.x, c.xKey, op, keep);
      return;
    case 'bytes': {
      const offsets = data.valueOffsets;
      const large = offsets instanceof BigInt64Array;
      compareBytes(large ? words32(offsets) : offsets, large ? 2 : 1, values, c.x, op, keep);
      return;
    }
    case 'bool':
      compareBools(values, data.offset, c.x, op, keep);
      return;
    default:
      throw new Error(`unknown comparand kind ${c.kind}`);
  }
}

/** An Int32Array over the same bytes (IPC buffers are 8-byte aligned). */
function words32(array) {
  return new Int32Array(array.buffer, array.byteOffset, array.byteLength >> 2);
}

/** A type's name the way arrow-rs prints it (`Int64`, `UInt8`, `Utf8`, `Date32`, ...). */
function typeName(type) {
  switch (type.typeId) {
    case Type.Int:
      return `${type.isSigned ? 'Int' : 'UInt'}${type.bitWidth}`;
    case Type.Float:
      return ['Float16', 'Float32', 'Float64'][type.precision];
    case Type.Bool:
      return 'Boolean';
    case Type.Date:
      return type.unit === 0 ? 'Date32' : 'Date64';
    case Type.Decimal:
      return `Decimal${type.bitWidth}(${type.precision}, ${type.scale})`;
    default:
      return String(type);
  }
}
