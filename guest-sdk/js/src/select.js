// Row selection: keeps the rows of a table or batch where a mask is 1, copying buffers
// directly so every column keeps its exact type (field, nullability, metadata included).
//
// The JavaScript engine inside a component is an interpreter (no JIT): a loop iteration costs
// ~0.1 µs, a native built-in call about the same whatever it copies. So the kernels find runs
// of kept rows with Uint8Array#indexOf, copy the span of a column once (`slice`) and move
// each run into place with `copyWithin`, looping per row only where they must (offsets,
// bits, or mostly-single-row selections). Fixed-width values move as 8-, 16- or 32-bit words,
// never through a Float64Array: loading a NaN into a JS number may change its bits.

import { Data, RecordBatch, Table, Type } from 'apache-arrow';
import { Failed } from './errors.js';

/** Below this mean run length, bits are gathered through a list of row indices. */
const SHORT_RUNS = 8;

/**
 * Keeps the rows of `table` whose entry in `keep` is 1 (a `Uint8Array` of 0/1, one per row
 * of the table; a plain array of booleans works too). The result has the same schema object
 * and one batch per input batch; when every row is kept, `table` itself is returned.
 */
export function filterTable(table, keep) {
  const mask = toMask(keep, table.numRows);
  const batches = [];
  let start = 0;
  let changed = false;
  for (const batch of table.batches) {
    const part = mask.subarray(start, start + batch.numRows);
    start += batch.numRows;
    const out = filterBatch(batch, part);
    changed ||= out !== batch;
    batches.push(out);
  }
  return changed ? new Table(table.schema, batches) : table;
}

/**
 * Keeps the rows of `batch` whose entry in `keep` is 1 (see `filterTable`); returns `batch`
 * itself when every row is kept.
 */
export function filterBatch(batch, keep) {
  const mask = toMask(keep, batch.numRows);
  const runs = keptRuns(mask);
  if (runs.count === batch.numRows) {
    return batch;
  }
  const data = filterData(batch.data, runs);
  return new RecordBatch(batch.schema, data);
}

/** `keep` as a Uint8Array of 0/1 with `length` entries. */
function toMask(keep, length) {
  if (keep instanceof Uint8Array) {
    if (keep.length !== length) {
      throw new Failed(`the row mask has ${keep.length} entries for ${length} rows`);
    }
    return keep;
  }
  if (keep == null || typeof keep.length !== 'number' || keep.length !== length) {
    throw new Failed(`the row mask must have one entry per row (${length})`);
  }
  const mask = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    mask[i] = keep[i] ? 1 : 0;
  }
  return mask;
}

/**
 * The runs of 1s in `mask`: `starts[r]`..`ends[r]` (end exclusive) for `r < n`, and the
 * number of rows they hold. Found with Uint8Array#indexOf, which is native code.
 */
export function keptRuns(mask) {
  const length = mask.length;
  // At most one run per two rows, plus one.
  const capacity = (length >> 1) + 1;
  const starts = new Int32Array(capacity);
  const ends = new Int32Array(capacity);
  let n = 0;
  let count = 0;
  let pos = 0;
  while (pos < length) {
    const s = mask.indexOf(1, pos);
    if (s < 0) {
      break;
    }
    let e = mask.indexOf(0, s + 1);
    if (e < 0) {
      e = length;
    }
    starts[n] = s;
    ends[n] = e;
    n++;
    count += e - s;
    pos = e + 1;
  }
  return { starts, ends, n, count };
}

/** Whether the runs are short enough to gather through row indices. */
function shortRuns(runs) {
  return runs.count < runs.n * SHORT_RUNS;
}

/** The kept row indices of `runs`, in order (computed once per selection). */
function rowIndices(runs) {
  if (!runs.indices) {
    const indices = new Int32Array(runs.count);
    const { starts, ends, n } = runs;
    let j = 0;
    for (let r = 0; r < n; r++) {
      for (let i = starts[r], end = ends[r]; i < end; i++) {
        indices[j++] = i;
      }
    }
    runs.indices = indices;
  }
  return runs.indices;
}

/** The runs scaled by `factor` (row runs -> element runs of a fixed-size list's child). */
function scaleRuns(runs, factor) {
  const starts = new Int32Array(runs.n);
  const ends = new Int32Array(runs.n);
  for (let r = 0; r < runs.n; r++) {
    starts[r] = runs.starts[r] * factor;
    ends[r] = runs.ends[r] * factor;
  }
  return { starts, ends, n: runs.n, count: runs.count * factor };
}

/** A copy of `data` holding only the rows in `runs`, with the same type. */
export function filterData(data, runs) {
  const { type } = data;
  const length = runs.count;
  switch (type.typeId) {
    case Type.Null:
      return new Data(type, 0, length, length, []);
    case Type.Bool: {
      const [bitmap, nullCount] = filterValidity(data, runs);
      const values = gatherBits(data.values, data.offset, runs);
      return new Data(type, 0, length, nullCount, [undefined, values, bitmap]);
    }
    case Type.Int:
    case Type.Float:
    case Type.Decimal:
    case Type.Date:
    case Type.Time:
    case Type.Timestamp:
    case Type.Interval:
    case Type.Duration:
    case Type.FixedSizeBinary: {
      const [bitmap, nullCount] = filterValidity(data, runs);
      const values = gatherFixed(data.values, data.stride, runs, data.length);
      return new Data(type, 0, length, nullCount, [undefined, values, bitmap]);
    }
    case Type.Dictionary: {
      const [bitmap, nullCount] = filterValidity(data, runs);
      const indices = gatherFixed(data.values, 1, runs, data.length);
      return new Data(type, 0, length, nullCount, [undefined, indices, bitmap], [], data.dictionary);
    }
    case Type.Utf8:
    case Type.Binary:
    case Type.LargeUtf8:
    case Type.LargeBinary: {
      const [bitmap, nullCount] = filterValidity(data, runs);
      const [offsets, , values] = gatherVariable(data.valueOffsets, data.values, runs);
      return new Data(type, 0, length, nullCount, [offsets, values, bitmap]);
    }
    case Type.Utf8View:
    case Type.BinaryView: {
      // Views point into the variadic buffers by index and offset: copying the views keeps them valid.
      const [bitmap, nullCount] = filterValidity(data, runs);
      const views = gatherFixed(data.values, data.stride, runs, data.length);
      return new Data(type, 0, length, nullCount, [undefined, views, bitmap], [], undefined, data.variadicBuffers);
    }
    case Type.List:
    case Type.LargeList:
    case Type.Map: {
      const [bitmap, nullCount] = filterValidity(data, runs);
      const [offsets, childRuns] = gatherVariable(data.valueOffsets, null, runs);
      const child = filterData(data.children[0], childRuns);
      return new Data(type, 0, length, nullCount, [offsets, undefined, bitmap], [child]);
    }
    case Type.FixedSizeList: {
      const [bitmap, nullCount] = filterValidity(data, runs);
      const child = filterData(data.children[0], scaleRuns(runs, type.listSize));
      return new Data(type, 0, length, nullCount, [undefined, undefined, bitmap], [child]);
    }
    case Type.Struct: {
      const [bitmap, nullCount] = filterValidity(data, runs);
      const children = data.children.map((child) => filterData(child, runs));
      return new Data(type, 0, length, nullCount, [undefined, undefined, bitmap], children);
    }
    default:
      throw new Failed(`cannot select rows of a column of type ${type} (${Type[type.typeId]})`);
  }
}

/** The validity bitmap of the kept rows and their null count (no bitmap when no nulls). */
function filterValidity(data, runs) {
  const nullCount = data.nullCount;
  if (!data.nullBitmap || data.nullBitmap.length === 0 || nullCount === 0) {
    return [undefined, 0];
  }
  if (nullCount * 4 > data.length) {
    const bitmap = gatherBits(data.nullBitmap, data.offset, runs);
    return [bitmap, runs.count - countOnes(bitmap, runs.count)];
  }
  // Few nulls: start from all valid and clear the kept null rows, found byte by byte.
  const { starts, ends, n, count } = runs;
  const out = new Uint8Array(((count + 63) & ~63) >> 3);
  out.fill(255, 0, count >> 3);
  if (count & 7) {
    out[count >> 3] = (1 << (count & 7)) - 1;
  }
  const nulls = nullRows(data.nullBitmap, data.offset, data.length, nullCount);
  let kept = 0;
  let r = 0;
  let before = 0; // kept rows in the runs before run r
  for (let k = 0; k < nulls.length; k++) {
    const i = nulls[k];
    while (r < n && ends[r] <= i) {
      before += ends[r] - starts[r];
      r++;
    }
    if (r < n && starts[r] <= i) {
      const j = before + i - starts[r];
      out[j >> 3] &= ~(1 << (j & 7));
      kept++;
    }
  }
  return [out, kept];
}

/**
 * The rows (0-based, `length` rows from bit `offset`) whose bit in `bitmap` is 0, in order:
 * a loop per byte, plus a step per null (`nullCount`, when known, sizes the result).
 */
export function nullRows(bitmap, offset, length, nullCount = -1) {
  const end = offset + length;
  let rows = new Int32Array(nullCount >= 0 ? nullCount : 64);
  let found = 0;
  const lastByte = (end - 1) >> 3;
  for (let k = offset >> 3; k <= lastByte; k++) {
    let zeros = ~bitmap[k] & 255;
    if (zeros === 0) {
      continue;
    }
    if (k === offset >> 3) {
      zeros &= (255 << (offset & 7)) & 255;
    }
    if (k === lastByte && (end & 7) !== 0) {
      zeros &= (1 << (end & 7)) - 1;
    }
    while (zeros !== 0) {
      const low = zeros & -zeros;
      zeros ^= low;
      if (found === rows.length) {
        const grown = new Int32Array(rows.length * 2);
        grown.set(rows);
        rows = grown;
      }
      rows[found++] = k * 8 + (31 - Math.clz32(low)) - offset;
    }
  }
  return rows.subarray(0, found);
}

/** The bits of the kept rows (`offset` is the bit position of row 0), 8-byte padded. */
function gatherBits(bits, offset, runs) {
  const out = new Uint8Array(((runs.count + 63) & ~63) >> 3);
  if (shortRuns(runs)) {
    const indices = rowIndices(runs);
    const count = runs.count;
    for (let j = 0; j < count; j++) {
      const i = indices[j] + offset;
      if ((bits[i >> 3] >> (i & 7)) & 1) {
        out[j >> 3] |= 1 << (j & 7);
      }
    }
    return out;
  }
  const { starts, ends, n } = runs;
  let j = 0;
  for (let r = 0; r < n; r++) {
    const len = ends[r] - starts[r];
    copyBits(bits, starts[r] + offset, out, j, len);
    j += len;
  }
  return out;
}

/** Copies `len` bits from `src` at bit `s` into the zeroed `dst` at bit `d`. */
function copyBits(src, s, dst, d, len) {
  if (len < 32) {
    for (const end = s + len; s < end; s++, d++) {
      if ((src[s >> 3] >> (s & 7)) & 1) {
        dst[d >> 3] |= 1 << (d & 7);
      }
    }
    return;
  }
  // Bit by bit up to a byte boundary of the destination, then whole bytes, then the tail.
  while (d & 7) {
    if ((src[s >> 3] >> (s & 7)) & 1) {
      dst[d >> 3] |= 1 << (d & 7);
    }
    s++;
    d++;
    len--;
  }
  const bytes = len >> 3;
  const shift = s & 7;
  let si = s >> 3;
  let di = d >> 3;
  if (shift === 0) {
    dst.set(src.subarray(si, si + bytes), di);
  } else {
    const back = 8 - shift;
    for (const end = di + bytes; di < end; di++, si++) {
      dst[di] = (src[si] >> shift) | (src[si + 1] << back);
    }
  }
  s += bytes << 3;
  d += bytes << 3;
  for (const end = s + (len & 7); s < end; s++, d++) {
    if ((src[s >> 3] >> (s & 7)) & 1) {
      dst[d >> 3] |= 1 << (d & 7);
    }
  }
}

/** Bits per byte value. */
const POPCOUNT = (() => {
  const table = new Uint8Array(256);
  for (let i = 1; i < 256; i++) {
    table[i] = (i & 1) + table[i >> 1];
  }
  return table;
})();

/** The number of 1 bits among the first `length` bits of `bits`. */
export function countOnes(bits, length) {
  const whole = length >> 3;
  let ones = 0;
  for (let i = 0; i < whole; i++) {
    ones += POPCOUNT[bits[i]];
  }
  const rest = length & 7;
  if (rest) {
    ones += POPCOUNT[bits[whole] & ((1 << rest) - 1)];
  }
  return ones;
}

/** A view of `array`'s bytes as `Ctor` elements (copied first if its offset is misaligned). */
function viewAs(Ctor, array) {
  const bytes = array.byteLength;
  if (array.byteOffset % Ctor.BYTES_PER_ELEMENT !== 0) {
    const copy = new Uint8Array(bytes);
    copy.set(new Uint8Array(array.buffer, array.byteOffset, bytes));
    return new Ctor(copy.buffer, 0, bytes / Ctor.BYTES_PER_ELEMENT);
  }
  return new Ctor(array.buffer, array.byteOffset, bytes / Ctor.BYTES_PER_ELEMENT);
}

/**
 * The values of the kept rows of a fixed-width buffer (`stride` elements of `values` per row,
 * `values` starting at row 0), as the same typed array type. Copied as words so that float
 * bits (NaN payloads) are kept.
 */
function gatherFixed(values, stride, runs, rows) {
  const Ctor = values.constructor;
  const rowBytes = values.BYTES_PER_ELEMENT * stride;
  const Word = rowBytes % 4 === 0 ? Int32Array : rowBytes % 2 === 0 ? Uint16Array : Uint8Array;
  const k = rowBytes / Word.BYTES_PER_ELEMENT; // words per row
  const src = viewAs(Word, values.subarray(0, rows * stride));
  let out;
  if (runs.count < runs.n * 1.5) {
    // Mostly single rows: one loop over the kept rows beats a native call per run.
    out = new Word(runs.count * k);
    gatherByIndex(src, k, rowIndices(runs), out);
  } else {
    out = compactByRuns(src, k, runs);
  }
  return new Ctor(out.buffer, out.byteOffset, (out.byteLength / Ctor.BYTES_PER_ELEMENT) | 0);
}

/** `out` = the `k`-word rows of `src` at `indices`. */
function gatherByIndex(src, k, indices, out) {
  const count = indices.length;
  if (k === 1) {
    for (let j = 0; j < count; j++) {
      out[j] = src[indices[j]];
    }
  } else if (k === 2) {
    for (let j = 0, o = 0; j < count; j++, o += 2) {
      const i = indices[j] << 1;
      out[o] = src[i];
      out[o + 1] = src[i + 1];
    }
  } else {
    for (let j = 0, o = 0; j < count; j++) {
      for (let i = indices[j] * k, end = i + k; i < end; i++) {
        out[o++] = src[i];
      }
    }
  }
}

/**
 * The `k`-word rows of `src` in `runs`: one native copy of the span they cover, then each
 * run moved left into place with `copyWithin` (native, no allocation per run).
 */
function compactByRuns(src, k, runs) {
  const { starts, ends, n } = runs;
  if (n === 0) {
    return new src.constructor(0);
  }
  const first = starts[0] * k;
  const buf = src.slice(first, ends[n - 1] * k);
  let pos = 0;
  for (let r = 0; r < n; r++) {
    const b0 = starts[r] * k - first;
    const b1 = ends[r] * k - first;
    if (b0 !== pos) {
      buf.copyWithin(pos, b0, b1);
    }
    pos += b1 - b0;
  }
  return buf.subarray(0, pos);
}

/**
 * The offsets (and, with `values`, the bytes) of the kept rows of a variable-width column
 * (Utf8, Binary and their Large forms; List, LargeList and Map when `values` is null).
 * Returns `[offsets, childRuns, bytes]`: the new offsets (same typed array type), the runs of
 * child elements the kept rows cover (lists only), and the copied bytes.
 */
function gatherVariable(valueOffsets, values, runs) {
  const large = valueOffsets instanceof BigInt64Array || valueOffsets instanceof BigUint64Array;
  // 64-bit offsets are read and written as their low 32-bit word: a batch in a wasm32 guest
  // cannot hold 2 GiB of values, which is checked here once.
  const step = large ? 2 : 1;
  const offsets = large ? viewAs(Int32Array, valueOffsets) : valueOffsets;
  if (large) {
    const last = offsets.length - 2;
    if (last >= 0 && (offsets[last + 1] !== 0 || offsets[last] < 0)) {
      throw new Failed('64-bit offsets past 2 GiB are not supported');
    }
  }
  const { starts, ends, n, count } = runs;
  const out = new Int32Array((count + 1) * step);
  const wrap = (o) => (large ? new valueOffsets.constructor(o.buffer) : o);
  if (values) {
    const [bytes, length] = compactBytes(offsets, step, values, runs, out);
    return [wrap(out), null, bytes.subarray(0, length)];
  }
  const childStarts = new Int32Array(n);
  const childEnds = new Int32Array(n);
  let j = 0; // index of the last offset written
  let pos = 0; // child elements written
  for (let r = 0; r < n; r++) {
    const s = starts[r];
    const e = ends[r];
    const b0 = offsets[s * step];
    const b1 = offsets[e * step];
    childStarts[r] = b0;
    childEnds[r] = b1;
    const delta = pos - b0;
    for (let i = s + 1; i <= e; i++) {
      out[++j * step] = offsets[i * step] + delta;
    }
    pos += b1 - b0;
  }
  return [wrap(out), { starts: childStarts, ends: childEnds, n, count: pos }, undefined];
}

/**
 * Writes the offsets of the kept rows into `out` and returns their bytes: one native copy of
 * the byte range the runs span, then every run moved left into place with `copyWithin` (one
 * native call, no allocation, cheaper than even a two-byte loop in the interpreter).
 */
function compactBytes(offsets, step, values, runs, out) {
  const { starts, ends, n } = runs;
  if (n === 0) {
    return [new Uint8Array(0), 0];
  }
  const first = offsets[starts[0] * step];
  const bytes = values.slice(first, offsets[ends[n - 1] * step]);
  let j = 0; // index of the last offset written
  let pos = 0; // bytes kept so far
  for (let r = 0; r < n; r++) {
    const s = starts[r];
    const e = ends[r];
    const b0 = offsets[s * step] - first;
    const b1 = offsets[e * step] - first;
    if (b0 !== pos) {
      bytes.copyWithin(pos, b0, b1);
    }
    const delta = pos - b0 - first;
    if (step === 1) {
      for (let i = s + 1; i <= e; i++) {
        out[++j] = offsets[i] + delta;
      }
    } else {
      for (let i = s + 1; i <= e; i++) {
        out[++j * 2] = offsets[i * 2] + delta;
      }
    }
    pos += b1 - b0;
  }
  return [bytes, pos];
}
