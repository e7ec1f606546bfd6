// `{{name}}`: upper-cases the string column named by the config's `column` (default `name`).
// Nulls stay null; every other column passes through unchanged.

import { DataType, vectorFromArray } from 'apache-arrow';
import { InvalidConfig, InvalidInput, checkConfig, column, log } from 'fastlane-guest';
import pkg from './package.json' with { type: 'json' };

export const describe = {
  name: '{{name}}',
  version: pkg.version,
  description: 'Upper-cases one string column',
  configSchema: `{
  "type": "object",
  "properties": {
    "column": { "type": "string", "default": "name", "description": "String column to upper-case." }
  },
  "additionalProperties": false
}`,
};

let columnName = 'name';

export function init(config) {
  checkConfig(config, { optional: ['column'] });
  if (config.column !== undefined && typeof config.column !== 'string') {
    throw new InvalidConfig('`column` must be a string');
  }
  columnName = config.column ?? 'name';
  log.info(`upper-casing column \`${columnName}\``);
}

export function transform(table) {
  const values = column(table, columnName);
  if (!DataType.isUtf8(values.type) && !DataType.isLargeUtf8(values.type)) {
    throw new InvalidInput(`column \`${columnName}\` is ${values.type}, not a string column`);
  }
  const upper = values.toArray().map((v) => (v === null ? null : v.toUpperCase()));
  // Same type object: a Utf8 column stays Utf8, a LargeUtf8 one LargeUtf8; the field keeps
  // its name, nullability and metadata.
  return table.setChild(columnName, vectorFromArray(upper, values.type));
}
