// Turns an author's module into the four exports of the `transformer` world.

import { parseConfig } from './config.js';
import { Failed, toWitError } from './errors.js';
import { decode, encode } from './ipc.js';
import { setLogSink } from './log.js';

/**
 * The WIT exports (`describe`, `init`, `transform`, `finish`) of an author's module, which
 * exports `describe` (an object or a function returning one), `transform(table)`, and
 * optionally `init(config, configText)` and `finish()`. `hostLog` is the WIT `log` import.
 *
 * Errors thrown by the author become the WIT `error` variant (see `toWitError`). A function
 * may be `async`: the component runs the promise to completion within the call.
 */
export function exportTransform(author, hostLog) {
  if (hostLog) {
    setLogSink(hostLog);
  }
  const info = readInfo(author);
  if (typeof author.transform !== 'function') {
    throw new TypeError('the transform module must export a function `transform(table)`');
  }
  let ready = false;

  return {
    describe() {
      return info;
    },

    init(configText) {
      ready = false;
      return guard(() => {
        const config = parseConfig(configText);
        return then(author.init ? author.init(config, configText) : undefined, () => {
          ready = true;
        });
      });
    },

    transform(bytes) {
      return guard(() => {
        if (!ready) {
          throw new Failed('init was not called');
        }
        if (bytes.length === 0) {
          return new Uint8Array(0);
        }
        // A stream without batches decodes to one batch without rows: the author still sees
        // (and can answer with) the schema.
        const input = decode(bytes);
        return then(author.transform(input), (output) => {
          if (output === null || output === undefined) {
            return new Uint8Array(0);
          }
          // Returned unchanged: the input bytes already are that stream.
          return output === input ? bytes : encode(output);
        });
      });
    },

    finish() {
      return guard(() => {
        if (!ready) {
          throw new Failed('init was not called');
        }
        const output = author.finish ? author.finish() : undefined;
        return then(output, (out) => (out === null || out === undefined ? undefined : encode(out)));
      });
    },
  };
}

/** Runs `f`, mapping anything thrown (or a rejected promise) onto the WIT error variant. */
function guard(f) {
  let result;
  try {
    result = f();
  } catch (e) {
    throw toWitError(e);
  }
  if (isPromise(result)) {
    return result.catch((e) => {
      throw toWitError(e);
    });
  }
  return result;
}

/** `next(value)`, after `value` settles when it is a promise. */
function then(value, next) {
  return isPromise(value) ? value.then(next) : next(value);
}

function isPromise(value) {
  return value !== null && typeof value === 'object' && typeof value.then === 'function';
}

/** The author's `describe` as the WIT `info` record; checked when the component is built. */
function readInfo(author) {
  const raw = typeof author.describe === 'function' ? author.describe() : author.describe;
  if (raw === null || typeof raw !== 'object') {
    throw new TypeError(
      'the transform module must export `describe`: { name, version, description, configSchema }',
    );
  }
  for (const key of ['name', 'version']) {
    if (typeof raw[key] !== 'string' || raw[key] === '') {
      throw new TypeError(`describe.${key} must be a non-empty string`);
    }
  }
  const schema = raw.configSchema ?? '{}';
  const configSchema = typeof schema === 'string' ? schema : JSON.stringify(schema, null, 2);
  try {
    JSON.parse(configSchema);
  } catch (e) {
    throw new TypeError(`describe.configSchema is not valid JSON: ${e.message}`);
  }
  return {
    name: raw.name,
    version: raw.version,
    description: String(raw.description ?? ''),
    configSchema,
  };
}
