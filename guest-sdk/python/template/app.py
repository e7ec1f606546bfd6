"""{{name}}: upper-cases one string column (the fastlane hello-world transform, in Python).

Config: {"column": "name"} (the default). Nulls stay null; other columns are unchanged.
"""

from fastlane_guest import InvalidConfig, InvalidInput, Transform, export, log


class Uppercase(Transform):
    name = "{{name}}"
    version = "0.1.0"
    description = "Upper-cases one string column"
    config_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "column": {"type": "string", "description": "String column to upper-case.",
                       "default": "name"},
        },
        "additionalProperties": False,
    }

    def init(self, config):
        for key in config:
            if key != "column":
                raise InvalidConfig("unknown key `%s` (only `column` is allowed)" % key)
        self.column = config.get("column", "name")
        if not isinstance(self.column, str):
            raise InvalidConfig("`column` must be a string")
        log.info("upper-casing column `%s`" % self.column)

    def transform(self, table):
        values = table[self.column]  # a missing column is invalid-input naming it
        if not values.type.is_string:
            raise InvalidInput("column `%s` is %s, not a string column" % (self.column, values.type))
        upper = [None if v is None else v.upper() for v in values]
        return table.with_column(self.column, upper)


export(Uppercase)
