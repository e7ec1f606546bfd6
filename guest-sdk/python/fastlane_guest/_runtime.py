"""What the component's exports do, independent of the generated bindings (testable natively).

`export(MyTransform)` registers the class; `describe`, `init`, `transform` and `finish` here
return plain Python values or raise `Error`s, which `_component` maps to the WIT variant.
"""

import json
import traceback

from .column import Column
from .errors import Error, Failed, InvalidConfig
from .ipc import read_stream, write_stream
from .table import Table

_registered = None
_instance = None


class Transform:
    """Base class of a transform (optional: any class with the same methods works).

    Class attributes give `describe`: `name`, `version`, `description`, `config_schema` (a JSON
    Schema as a dict or a JSON string; `{}` accepts anything)."""

    name = "transform"
    version = "0.1.0"
    description = ""
    config_schema = "{}"

    def init(self, config):
        """Checks and keeps the config (a dict); raise `InvalidConfig` naming the key at fault."""

    def transform(self, table):
        """Returns the output `Table` for one input `Table` (or None for no output)."""
        return table

    def finish(self):
        """End of the stream: a `Table` of buffered output, or None."""
        return None


def export(cls):
    """Registers `cls` as the component's transform (use once, in the app module)."""
    global _registered
    if not isinstance(cls, type):
        raise TypeError("export() takes the transform class, got %r" % (cls,))
    if not callable(getattr(cls, "transform", None)):
        raise TypeError("%s has no transform(self, table) method" % cls.__name__)
    _registered = cls
    return cls


def registered():
    """The exported class; raises if the app module did not call `export`."""
    if _registered is None:
        raise Failed("the app module did not call fastlane_guest.export(YourTransform)")
    return _registered


def describe():
    """(name, version, description, config schema JSON string) of the exported class."""
    cls = registered()
    if callable(getattr(cls, "describe", None)):
        info = cls().describe()  # a method, classmethod or staticmethod returning a dict
        return (str(info["name"]), str(info["version"]), str(info.get("description", "")),
                _schema_text(info.get("config_schema", "{}")))
    return (str(getattr(cls, "name", cls.__name__.lower())), str(getattr(cls, "version", "0.1.0")),
            str(getattr(cls, "description", "") or (cls.__doc__ or "").strip().split("\n")[0]),
            _schema_text(getattr(cls, "config_schema", "{}")))


def _schema_text(schema):
    return schema if isinstance(schema, str) else json.dumps(schema, indent=2)


def init(config_text):
    """Parses the JSON config and builds the instance."""
    global _instance
    _instance = None
    cls = registered()
    text = config_text if config_text and config_text.strip() else "{}"
    try:
        config = json.loads(text)
    except ValueError as e:
        raise InvalidConfig("config is not valid JSON: %s" % e) from None
    if not isinstance(config, dict):
        raise InvalidConfig("config must be a JSON object, got %s" % type(config).__name__)
    instance = cls()
    init_fn = getattr(instance, "init", None)
    if callable(init_fn):
        init_fn(config)
    _instance = instance


def _current():
    if _instance is None:
        raise Failed("init was not called (or failed)")
    return _instance


def transform(data):
    """Decodes one IPC stream, transforms each batch, encodes the outputs (b"" = no output)."""
    instance = _current()
    schema, tables = read_stream(data)
    if not tables:
        tables = [Table.from_columns(schema, [_empty_column(f) for f in schema.fields], 0)]
    outputs = []
    for table in tables:
        out = instance.transform(table)
        if out is not None:
            outputs.append(_check_output(out, "transform"))
    return encode(outputs)


def finish():
    """The stream of what `finish` returns, or None."""
    instance = _current()
    finish_fn = getattr(instance, "finish", None)
    if not callable(finish_fn):
        return None
    out = finish_fn()
    if out is None:
        return None
    return encode([_check_output(out, "finish")])


def encode(tables):
    """One IPC stream of tables sharing a schema; b"" for no table."""
    if not tables:
        return b""
    schema = tables[0].schema
    for t in tables[1:]:
        if t.schema != schema:
            raise Failed("transform returned batches with different schemas in one call: "
                         "%r and %r" % (schema, t.schema))
    return write_stream(schema, tables)


def _check_output(out, call):
    if not isinstance(out, Table):
        raise Failed("%s returned %s, expected a fastlane_guest.Table or None" % (
            call, type(out).__name__))
    return out


def _empty_column(field):
    return Column([], field.type, field.name)


def run(fn, *args):
    """Calls `fn`; returns ("ok", value) or (kind, message) with kind an error case name."""
    try:
        return "ok", fn(*args)
    except Error as e:
        return e.kind, e.message
    except BaseException as e:  # anything from the author's code becomes `failed`, not a trap
        return "failed", describe_exception(e)


def describe_exception(e):
    """`Type: message (at file:line in function)` of an unexpected exception."""
    text = "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__
    frames = traceback.extract_tb(e.__traceback__)
    if frames:
        last = frames[-1]
        text += " (at %s:%d in %s)" % (last.filename.rsplit("/", 1)[-1], last.lineno, last.name)
    return text
