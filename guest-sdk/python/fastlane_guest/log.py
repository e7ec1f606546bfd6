"""Lines to the host's run log: `log.info("...")`, at the level given.

Inside the component these call the world's `log` import; run natively (unit tests) they print
to stderr.
"""

import sys

LEVELS = ("trace", "debug", "info", "warn", "error")

# Set by the component glue to the host's `log` import: a function (level index, message).
_sink = None


def log(level, message):
    """Writes `message` at `level` (`trace`, `debug`, `info`, `warn` or `error`)."""
    try:
        index = LEVELS.index(level)
    except ValueError:
        raise ValueError("unknown log level %r (use %s)" % (level, ", ".join(LEVELS))) from None
    if _sink is not None:
        _sink(index, str(message))
    else:
        print("[%s] %s" % (level, message), file=sys.stderr)


def trace(message):
    log("trace", message)


def debug(message):
    log("debug", message)


def info(message):
    log("info", message)


def warn(message):
    log("warn", message)


warning = warn


def error(message):
    log("error", message)
