// fastlane-guest: write fastlane transforms in JavaScript.
//
// A transform module exports `describe`, `transform(table)` and optionally `init(config)` and
// `finish()`; `build.sh` wraps it into a WebAssembly component of the `transformer` world.
// This module is what the author imports, as `fastlane-guest`.

export { InvalidConfig, InvalidInput, Failed, TransformError, toWitError } from './errors.js';
export { log, LEVELS } from './log.js';
export { parseConfig, checkConfig } from './config.js';
export { decode, encode } from './ipc.js';
export { filterTable, filterBatch, filterData, keptRuns, countOnes, nullRows } from './select.js';
export { column, emptyBatch, emptyData } from './table.js';
export { exportTransform } from './export.js';
