// The Arrow IPC stream codec used at the boundary with the host.

import { RecordBatch, RecordBatchReader, Table, tableToIPC, util } from 'apache-arrow';
import { Failed, InvalidInput } from './errors.js';
import { emptyBatch } from './table.js';

/**
 * Reads one Arrow IPC stream (a schema message, then zero or more record batches) into a
 * `Table`, without copying the buffers. Malformed bytes are `InvalidInput`. A stream without
 * batches gives one batch without rows (apache-arrow's reader does so), and batches without
 * rows come as `emptyBatch` (well-formed buffers for every column type).
 */
export function decode(bytes) {
  // Typed-array views need aligned offsets: the IPC format aligns every buffer to 8 bytes
  // from the start of the stream, so only the start itself may need moving.
  if (bytes.byteOffset % 8 !== 0) {
    bytes = bytes.slice();
  }
  try {
    const reader = RecordBatchReader.from(bytes).open();
    const { schema } = reader;
    if (!schema) {
      throw new Error('no schema message');
    }
    const batches = [];
    for (const batch of reader) {
      batches.push(batch.numRows === 0 ? emptyBatch(schema) : batch);
    }
    return new Table(schema, batches);
  } catch (e) {
    throw new InvalidInput(`cannot read the Arrow IPC input: ${e && e.message ? e.message : e}`);
  }
}

/**
 * Writes a `Table`, a `RecordBatch` or an array of `RecordBatch`es (one schema) as one
 * uncompressed IPC stream. Batches without rows are left out, except that a stream with no
 * rows at all still carries the schema and one empty batch.
 */
export function encode(output) {
  const { schema, batches } = asBatches(output);
  const withRows = batches.filter((b) => b.numRows > 0);
  const written = withRows.length > 0 ? withRows : [emptyBatch(schema)];
  return tableToIPC(new Table(schema, written), 'stream');
}

function asBatches(output) {
  if (output instanceof Table) {
    return { schema: output.schema, batches: output.batches };
  }
  if (output instanceof RecordBatch) {
    return { schema: output.schema, batches: [output] };
  }
  if (Array.isArray(output) && output.length > 0 && output.every((b) => b instanceof RecordBatch)) {
    const schema = output[0].schema;
    for (const batch of output) {
      if (!util.compareSchemas(schema, batch.schema)) {
        throw new Failed('the transform returned record batches with different schemas in one call');
      }
    }
    return { schema, batches: output };
  }
  throw new Failed(
    `a transform must return an apache-arrow Table, a RecordBatch, an array of RecordBatches, or null; got ${describe(output)}`,
  );
}

function describe(value) {
  if (value === null || value === undefined) {
    return String(value);
  }
  if (typeof value === 'object') {
    return value.constructor ? `a ${value.constructor.name}` : 'an object';
  }
  return `a ${typeof value}`;
}
