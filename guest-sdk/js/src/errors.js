// The errors a transform throws, mapped one to one onto the WIT `error` variant.

/** Base class of the errors the SDK maps onto the WIT `error` variant; `kind` is its case. */
export class TransformError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = new.target.name;
    this.kind = kind;
  }
}

/** The config is not acceptable (from `init`, or a config value that does not fit the data). */
export class InvalidConfig extends TransformError {
  constructor(message) {
    super('invalid-config', message);
  }
}

/** This batch cannot be processed (a missing column, a wrong type, malformed input). */
export class InvalidInput extends TransformError {
  constructor(message) {
    super('invalid-input', message);
  }
}

/** Anything else. */
export class Failed extends TransformError {
  constructor(message) {
    super('failed', message);
  }
}

/**
 * The WIT `error` value of anything thrown: the SDK's errors keep their kind, any other value
 * becomes `failed` with its message (`TypeError: ...` for the built-in error classes).
 */
export function toWitError(e) {
  if (e instanceof TransformError) {
    return { tag: e.kind, val: String(e.message) };
  }
  if (e instanceof Error) {
    const message = e.constructor === Error || !e.name ? e.message : `${e.name}: ${e.message}`;
    return { tag: 'failed', val: String(message) };
  }
  return { tag: 'failed', val: describeValue(e) };
}

function describeValue(value) {
  if (typeof value === 'string') {
    return value;
  }
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) {
      return `thrown value ${json}`;
    }
  } catch {
    // not serializable (a cycle, a BigInt): fall back to String()
  }
  return `thrown value ${String(value)}`;
}
