"""The component's exports: the `WitWorld` class componentize-py binds to the world.

Imported only inside the component (by the entry module build.sh generates), where the
`wit_world` bindings exist.
"""

import wit_world
from componentize_py_types import Err
from wit_world.imports import types as wit

from . import _runtime, log

_ERRORS = {
    "invalid-config": wit.Error_InvalidConfig,
    "invalid-input": wit.Error_InvalidInput,
    "failed": wit.Error_Failed,
}
_LEVELS = (wit.Level.TRACE, wit.Level.DEBUG, wit.Level.INFO, wit.Level.WARN, wit.Level.ERROR)


def _host_log(level, message):
    wit_world.log(_LEVELS[level], message)


log._sink = _host_log


def _call(fn, *args):
    kind, value = _runtime.run(fn, *args)
    if kind != "ok":
        raise Err(_ERRORS[kind](value))
    return value


class WitWorld(wit_world.WitWorld):
    def describe(self):
        kind, value = _runtime.run(_runtime.describe)
        if kind != "ok":
            # describe cannot fail in the contract: report the problem in the description.
            return wit.Info(name="invalid", version="0.0.0",
                            description="describe failed: %s" % value, config_schema="{}")
        name, version, description, schema = value
        return wit.Info(name=name, version=version, description=description,
                        config_schema=schema)

    def init(self, config):
        _call(_runtime.init, config)

    def transform(self, batch):
        return _call(_runtime.transform, batch)

    def finish(self):
        return _call(_runtime.finish)
