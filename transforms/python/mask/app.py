"""`mask`: hashes or redacts string columns (PII), Python version.

Config: `{"columns": ["email", "name"], "method": "hash", "salt": "", "replacement": "***"}`.
- `method` `"hash"` (the default) replaces each value by the lowercase hex SHA-256 of
  `salt + value`; `"redact"` replaces it by `replacement` (default `"***"`).
- Nulls stay null; the schema is unchanged.
- A configured column that is missing, or not Utf8 / LargeUtf8, is an invalid-input error
  naming it.
Behaves exactly like the Rust `mask`.
"""

import hashlib
import json

from fastlane_guest import InvalidConfig, InvalidInput, Transform, export

CONFIG_SCHEMA = r"""{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "mask",
  "description": "Hashes or redacts string columns; nulls stay null.",
  "type": "object",
  "properties": {
    "columns": {
      "type": "array",
      "items": { "type": "string" },
      "minItems": 1,
      "description": "String columns to mask (Utf8, LargeUtf8 or Utf8View)."
    },
    "method": {
      "enum": ["hash", "redact"],
      "default": "hash",
      "description": "hash: lowercase hex SHA-256 of salt + value; redact: the replacement string."
    },
    "salt": { "type": "string", "default": "", "description": "Prepended to each value before hashing." },
    "replacement": { "type": "string", "default": "***", "description": "What redact writes instead of each value." }
  },
  "required": ["columns"],
  "additionalProperties": false
}"""

FIELDS = ("columns", "method", "salt", "replacement")


class Mask(Transform):
    name = "mask"
    version = "0.1.0"
    description = "Hashes (salted SHA-256) or redacts string columns"
    config_schema = CONFIG_SCHEMA

    def init(self, config):
        for key in config:
            if key not in FIELDS:
                raise InvalidConfig("unknown field `%s`, expected one of %s" % (
                    key, ", ".join("`%s`" % f for f in FIELDS)))
        if "columns" not in config:
            raise InvalidConfig("missing field `columns`")
        columns = config["columns"]
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise InvalidConfig("`columns` must be an array of strings, got %s"
                                % json.dumps(columns))
        if not columns:
            raise InvalidConfig("`columns` must name at least one column")
        self.columns = columns
        self.method = self._string(config, "method", "hash")
        if self.method not in ("hash", "redact"):
            raise InvalidConfig("unknown `method` %s, expected `hash` or `redact`"
                                % json.dumps(self.method))
        self.replacement = self._string(config, "replacement", "***")
        # SHA-256 state after the salt, copied for each value.
        self.salted = hashlib.sha256(self._string(config, "salt", "").encode("utf-8"))

    @staticmethod
    def _string(config, key, default):
        value = config.get(key, default)
        if not isinstance(value, str):
            raise InvalidConfig("`%s` must be a string, got %s" % (key, json.dumps(value)))
        return value

    def transform(self, table):
        for name in self.columns:
            if name not in table:
                raise InvalidInput("column `%s` to mask not found" % name)
            column = table[name]
            if not column.type.is_string:
                raise InvalidInput("column `%s` to mask is %s, not a string column (Utf8, "
                                   "LargeUtf8 or Utf8View)" % (name, column.type))
            if self.method == "redact":
                replacement = self.replacement
                masked = [replacement if ok else None for ok in column.is_valid()]
            else:
                masked = [None if v is None else self._hash(v) for v in column]
            table = table.with_column(name, masked)
        return table

    def _hash(self, value):
        digest = self.salted.copy()
        digest.update(value.encode("utf-8"))
        return digest.hexdigest()


export(Mask)
