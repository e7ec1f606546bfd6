// Reading the JSON config `init` receives.

import { InvalidConfig } from './errors.js';

/** Parses the config text; blank reads as `{}`, bad JSON is `InvalidConfig`. */
export function parseConfig(text) {
  if (text.trim() === '') {
    return {};
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InvalidConfig(`the config is not valid JSON: ${e.message}`);
  }
}

/**
 * Checks that `config` is an object holding every key of `required` and no key outside
 * `required` and `optional`; throws `InvalidConfig` naming the first key at fault.
 */
export function checkConfig(config, { required = [], optional = [] } = {}) {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new InvalidConfig(`the config must be a JSON object, got ${JSON.stringify(config)}`);
  }
  const known = [...required, ...optional];
  for (const key of Object.keys(config)) {
    if (!known.includes(key)) {
      const expected = known.map((k) => `\`${k}\``).join(', ');
      throw new InvalidConfig(`unknown field \`${key}\`, expected ${known.length > 1 ? 'one of ' : ''}${expected}`);
    }
  }
  for (const key of required) {
    if (!Object.hasOwn(config, key)) {
      throw new InvalidConfig(`missing field \`${key}\``);
    }
  }
  return config;
}
