// Log lines to the host's run log, at a level.

/** The levels of the WIT `level` enum, lowest first. */
export const LEVELS = Object.freeze(['trace', 'debug', 'info', 'warn', 'error']);

// Inside a component the generated entry module points this at the WIT `log` import; natively
// (unit tests under node) lines go to stderr.
let sink = (level, message) => {
  console.error(`[${level}] ${message}`);
};

/** Sends log lines to `fn(level, message)` instead (the entry module passes the WIT import). */
export function setLogSink(fn) {
  sink = fn;
}

/**
 * Writes one line to the run log at `level` (`trace`, `debug`, `info`, `warn`, `error`).
 * Also `log.trace(msg)`, `log.debug(msg)`, `log.info(msg)`, `log.warn(msg)`, `log.error(msg)`.
 */
export function log(level, message) {
  if (!LEVELS.includes(level)) {
    throw new TypeError(`log level must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  }
  sink(level, String(message));
}

for (const level of LEVELS) {
  log[level] = (message) => sink(level, String(message));
}
