// Comparison kernels: one pass over a column's buffers writing 1 (keep) or 0 per row into a
// Uint8Array. The engine in a component interprets every bytecode (no JIT), so the hot
// loops are written per op, over typed arrays, with nothing but locals inside.

import { nullRows } from 'fastlane-guest';

/** Result of an op for a comparison of -1, 0, +1 (index c + 1). */
export const OP_TABLE = {
  eq: [0, 1, 0],
  ne: [1, 0, 1],
  gt: [0, 0, 1],
  ge: [0, 1, 1],
  lt: [1, 0, 0],
  le: [1, 1, 0],
};

/**
 * Numbers that load exactly into a JS number and are never NaN (8-, 16-, 32-bit integers,
 * Date32 days), against the number `x`.
 */
export function compareNumbers(values, x, op, keep) {
  const n = keep.length;
  switch (op) {
    case 'eq': for (let i = 0; i < n; i++) keep[i] = +(values[i] === x); break;
    case 'ne': for (let i = 0; i < n; i++) keep[i] = +(values[i] !== x); break;
    case 'gt': for (let i = 0; i < n; i++) keep[i] = +(values[i] > x); break;
    case 'ge': for (let i = 0; i < n; i++) keep[i] = +(values[i] >= x); break;
    case 'lt': for (let i = 0; i < n; i++) keep[i] = +(values[i] < x); break;
    case 'le': for (let i = 0; i < n; i++) keep[i] = +(values[i] <= x); break;
    default: throw new Error(`unknown op ${op}`);
  }
}

/**
 * The IEEE total-order key of a float's bits: negative values get all bits but the sign
 * flipped, so that keys compare as signed integers (`-NaN < -inf < ... < -0 < +0 < ... <
 * +inf < +NaN`). For Float64 the key is `[high word, low word as unsigned]`.
 */
export function floatKey(words, i, wide) {
  if (wide) {
    let hi = words[2 * i + 1];
    let lo = words[2 * i];
    if (hi < 0) {
      hi ^= 0x7fffffff;
      lo = ~lo;
    }
    return [hi, lo >>> 0];
  }
  let w = words[i];
  if (w < 0) {
    w ^= 0x7fffffff;
  }
  return [w, 0];
}

/**
 * Float32 / Float64 values in IEEE total order against `x` (with total-order key `xKey`).
 * `values` is the column's float array and `words` its Int32Array view. Rows that are NaN or
 * zero (where `<` and total order differ) are compared by key; the others as numbers.
 */
export function compareFloats(values, words, wide, x, xKey, op, keep) {
  const n = keep.length;
  const table = OP_TABLE[op];
  const [xHi, xLo] = xKey;
  const byKey = (i) => {
    const [hi, lo] = floatKey(words, i, wide);
    const c = hi < xHi ? -1 : hi > xHi ? 1 : lo < xLo ? -1 : lo > xLo ? 1 : 0;
    return table[c + 1];
  };
  if (x !== x) {
    for (let i = 0; i < n; i++) keep[i] = byKey(i);
    return;
  }
  let v;
  switch (op) {
    case 'eq': for (let i = 0; i < n; i++) keep[i] = (v = values[i]) === v && v !== 0 ? +(v === x) : byKey(i); break;
    case 'ne': for (let i = 0; i < n; i++) keep[i] = (v = values[i]) === v && v !== 0 ? +(v !== x) : byKey(i); break;
    case 'gt': for (let i = 0; i < n; i++) keep[i] = (v = values[i]) === v && v !== 0 ? +(v > x) : byKey(i); break;
    case 'ge': for (let i = 0; i < n; i++) keep[i] = (v = values[i]) === v && v !== 0 ? +(v >= x) : byKey(i); break;
    case 'lt': for (let i = 0; i < n; i++) keep[i] = (v = values[i]) === v && v !== 0 ? +(v < x) : byKey(i); break;
    case 'le': for (let i = 0; i < n; i++) keep[i] = (v = values[i]) === v && v !== 0 ? +(v <= x) : byKey(i); break;
    default: throw new Error(`unknown op ${op}`);
  }
}

/**
 * 64-bit integers (as pairs of 32-bit words, low word first) against the exact value
 * `xHi:xLo` (high word signed for Int64, unsigned for UInt64; low word unsigned).
 */
export function compareInt64(words, signed, xHi, xLo, op, keep) {
  const n = keep.length;
  const table = OP_TABLE[op];
  for (let i = 0; i < n; i++) {
    const h = signed ? words[2 * i + 1] : words[2 * i + 1] >>> 0;
    let c;
    if (h !== xHi) {
      c = h < xHi ? 0 : 2;
    } else {
      const l = words[2 * i] >>> 0;
      c = l < xLo ? 0 : l > xLo ? 2 : 1;
    }
    keep[i] = table[c];
  }
}

/**
 * 64-bit integers converted to Float64 (rounded to nearest, as a cast does) against the
 * float `x`. `x` must not be -0 (pass -0.5 instead: no integer lies between).
 */
export function compareInt64AsFloat(words, signed, x, op, keep) {
  const n = keep.length;
  const table = OP_TABLE[op];
  for (let i = 0; i < n; i++) {
    const h = signed ? words[2 * i + 1] : words[2 * i + 1] >>> 0;
    // h * 2^32 is exact, so the sum rounds once, like the cast.
    const v = h * 4294967296 + (words[2 * i] >>> 0);
    keep[i] = table[(v > x) - (v < x) + 1];
  }
}

/**
 * Strings (or bytes) by byte order (= code point order for UTF-8) against the bytes `x`.
 * `offsets` is an Int32Array read every `step` words (2 for 64-bit offsets: the low word).
 */
export function compareBytes(offsets, step, bytes, x, op, keep) {
  const n = keep.length;
  const table = OP_TABLE[op];
  const xLength = x.length;
  const equality = op === 'eq' || op === 'ne';
  let start = offsets[0];
  for (let i = 0; i < n; i++) {
    const end = offsets[(i + 1) * step];
    const length = end - start;
    let c = 0;
    if (equality && length !== xLength) {
      c = 1;
    } else {
      const common = length < xLength ? length : xLength;
      for (let k = 0; k < common; k++) {
        const d = bytes[start + k] - x[k];
        if (d !== 0) {
          c = d;
          break;
        }
      }
      if (c === 0) {
        c = length - xLength;
      }
    }
    keep[i] = table[(c > 0) - (c < 0) + 1];
    start = end;
  }
}

/** Booleans (bits from bit `offset`) against `x` (0 or 1): `false < true`. */
export function compareBools(bits, offset, x, op, keep) {
  const n = keep.length;
  const table = OP_TABLE[op];
  for (let i = 0; i < n; i++) {
    const b = offset + i;
    keep[i] = table[((bits[b >> 3] >> (b & 7)) & 1) - x + 1];
  }
}

/**
 * Sets `keep` to 0 on the null rows (bit 0 in `bitmap`, from bit `offset`): through the list
 * of null rows when they are few, else bit by bit.
 */
export function clearNulls(keep, bitmap, offset, nullCount) {
  const n = keep.length;
  if (nullCount * 4 <= n) {
    const nulls = nullRows(bitmap, offset, n, nullCount);
    for (let k = 0; k < nulls.length; k++) {
      keep[nulls[k]] = 0;
    }
    return;
  }
  let i = 0;
  while (i < n) {
    const b = offset + i;
    if ((b & 7) === 0 && i + 8 <= n && bitmap[b >> 3] === 255) {
      i += 8;
      continue;
    }
    if (((bitmap[b >> 3] >> (b & 7)) & 1) === 0) {
      keep[i] = 0;
    }
    i++;
  }
}

/** 1 on the rows whose validity bit is `want` (0: the nulls, 1: the others). */
export function validityIs(bitmap, offset, want, keep) {
  const n = keep.length;
  for (let i = 0; i < n; i++) {
    const b = offset + i;
    keep[i] = +(((bitmap[b >> 3] >> (b & 7)) & 1) === want);
  }
}
