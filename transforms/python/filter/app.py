"""`filter`: keeps the rows where one column compares to a value (Python version).

Config: `{"column": "amount", "op": "gt", "value": 100}`.
- `op` is one of `eq ne gt ge lt le` (with a `value`: a JSON number, string or bool, converted
  to the column's type, so `"2024-01-01"` works against a date column), or `is_null` /
  `is_not_null` (no `value`).
- Rows where the comparison is null (a null cell) are dropped.
- A number that does not fit the column's integer type (`100.5` against an integer column,
  `300` against `UInt8`) is compared as Float64.
Behaves exactly like the Rust `filter` on the types listed in transforms/README.md.
"""

import json

from fastlane_guest import InvalidConfig, Transform, export, types

import convert

CONFIG_SCHEMA = r"""{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "filter",
  "description": "Keeps the rows where `column` compares to `value` with `op`; rows where the comparison is null are dropped.",
  "type": "object",
  "properties": {
    "column": { "type": "string", "description": "Column to test." },
    "op": {
      "enum": ["eq", "ne", "gt", "ge", "lt", "le", "is_null", "is_not_null"],
      "description": "Comparison; is_null and is_not_null take no value."
    },
    "value": {
      "type": ["number", "string", "boolean"],
      "description": "Value to compare with, converted to the column's type."
    }
  },
  "required": ["column", "op"],
  "additionalProperties": false,
  "if": { "properties": { "op": { "enum": ["is_null", "is_not_null"] } } },
  "then": { "not": { "required": ["value"] } },
  "else": { "required": ["value"] }
}"""

COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
NULL_TESTS = ("is_null", "is_not_null")
FIELDS = ("column", "op", "value")


class Filter(Transform):
    name = "filter"
    version = "0.1.0"
    description = "Keeps the rows where a column compares to a value"
    config_schema = CONFIG_SCHEMA

    def init(self, config):
        for key in config:
            if key not in FIELDS:
                raise InvalidConfig("unknown field `%s`, expected one of `column`, `op`, `value`"
                                    % key)
        for key in ("column", "op"):
            if key not in config:
                raise InvalidConfig("missing field `%s`" % key)
            if not isinstance(config[key], str):
                raise InvalidConfig("`%s` must be a string, got %s" % (
                    key, json.dumps(config[key])))
        self.column = config["column"]
        self.op = config["op"]
        if self.op not in COMPARISONS + NULL_TESTS:
            raise InvalidConfig("unknown `op` %s, expected one of %s" % (
                json.dumps(self.op), ", ".join(COMPARISONS + NULL_TESTS)))
        value = config.get("value")
        if self.op in NULL_TESTS:
            if value is not None:
                raise InvalidConfig("`op` \"%s\" takes no `value`, got %s" % (
                    self.op, json.dumps(value)))
            return
        if value is None:
            raise InvalidConfig("`op` \"%s\" needs a `value` (number, string or bool)" % self.op)
        if isinstance(value, bool):
            self.text, self.is_number = "true" if value else "false", False
        elif isinstance(value, (int, float)):
            self.text, self.is_number = convert.json_number_text(value), True
        elif isinstance(value, str):
            self.text, self.is_number = value, False
        else:
            raise InvalidConfig("`value` must be a number, string or bool, got %s"
                                % json.dumps(value))
        # The value converted for the last column type seen: (type, value, compare as float).
        self.converted = None

    def transform(self, table):
        column = table[self.column]  # missing -> invalid-input naming it
        if self.op == "is_null":
            return table.filter(column.is_null())
        if self.op == "is_not_null":
            return table.filter(column.is_valid())
        if self.converted is None or self.converted[0] != column.type:
            self.converted = (column.type,) + self.convert(column.type)
        _, value, as_float = self.converted
        if as_float:
            column = column.cast(types.float64())
        return table.filter(column.compare(self.op, value))

    def convert(self, column_type):
        """(value, as_float): the config's value in the column's type, or both as Float64."""
        text = self.text
        if column_type.is_integer:
            lo, hi = column_type.int_range
            value = convert.parse_int(text, lo, hi)
            if value is not None:
                return value, False
            if self.is_number:
                return float(text), True
        elif column_type.is_float:
            value = convert.parse_float(text)
            if value is not None:
                return convert.round_to(value, column_type.bit_width), False
        elif column_type.is_string:
            return text, False
        elif column_type == types.bool_():
            value = convert.parse_bool(text)
            if value is not None:
                return value, False
        elif column_type == types.date32():
            value = convert.parse_date_days(text)
            if value is not None:
                return value, False
        else:
            raise InvalidConfig("`value` %s cannot be compared with column `%s` of type %s: "
                                "the filter handles integer, float, string, boolean and Date32 "
                                "columns" % (json.dumps(text), self.column, column_type))
        raise InvalidConfig("`value` %s cannot be compared with column `%s` of type %s" % (
            json.dumps(text), self.column, column_type))


export(Filter)
