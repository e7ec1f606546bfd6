//! MySQL column types ↔ Arrow types.
//!
//! The source maps each column's declared type (`information_schema.COLUMNS.COLUMN_TYPE`) to an
//! Arrow type that holds every value exactly, and records the declared type in the field's
//! metadata under [`TYPE_KEY`]. The target creates a missing table from the Arrow schema: a
//! field that still carries a declared type consistent with its Arrow type gets that type back
//! (so MySQL → MySQL keeps `DECIMAL(12,2)`, `ENUM(…)`, `TIMESTAMP(6)`, `BIGINT UNSIGNED` …);
//! any other field gets the closest faithful MySQL type of its Arrow type.

use arrow::datatypes::{DataType, Field, TimeUnit};

/// Field metadata key holding the column's declared MySQL type (e.g. `decimal(12,2)`).
pub(crate) const TYPE_KEY: &str = "mysql.type";
/// Field metadata keys holding a text column's character set and collation, so a target
/// creates (and checks) the column to compare values the way the source does.
pub(crate) const CHARSET_KEY: &str = "mysql.charset";
pub(crate) const COLLATION_KEY: &str = "mysql.collation";
/// Arrow's canonical extension-name metadata key, and the JSON extension's name.
const EXTENSION_NAME_KEY: &str = "ARROW:extension:name";
const JSON_EXTENSION: &str = "arrow.json";
/// Time zone of the Arrow timestamps read from `TIMESTAMP` columns (sessions run in UTC).
pub(crate) const UTC: &str = "UTC";

/// A declared column type, parsed from `COLUMN_TYPE` (`int(10) unsigned`, `enum('a','b')`).
///
/// Parsing is strict (a name, optional arguments that are numbers or quoted strings, optional
/// `unsigned`/`zerofill`), so a type read back from field metadata can be put into DDL safely.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ColumnType {
    /// Lowercase base name: `bigint`, `varchar`, `enum`, …
    pub name: String,
    /// Arguments as written: `12`, `2`, `'a'`.
    pub args: Vec<String>,
    pub unsigned: bool,
    pub zerofill: bool,
}

impl ColumnType {
    /// Parse a `COLUMN_TYPE` value.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = || format!("cannot read the column type `{text}`");
        let name_end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        let name = text[..name_end].to_ascii_lowercase();
        if name.is_empty() {
            return Err(bad());
        }
        let mut rest = &text[name_end..];
        let mut args = Vec::new();
        if let Some(inner) = rest.strip_prefix('(') {
            let (parsed, after) = parse_args(inner).ok_or_else(bad)?;
            args = parsed;
            rest = after;
        }
        let (mut unsigned, mut zerofill) = (false, false);
        for word in rest.split_ascii_whitespace() {
            match word.to_ascii_lowercase().as_str() {
                "unsigned" => unsigned = true,
                "zerofill" => zerofill = true,
                "signed" => {}
                _ => return Err(bad()),
            }
        }
        Ok(Self {
            name,
            args,
            unsigned,
            zerofill,
        })
    }

    /// The type as DDL (`bigint(20) unsigned`).
    pub fn sql(&self) -> String {
        let mut out = self.name.clone();
        if !self.args.is_empty() {
            out.push('(');
            out.push_str(&self.args.join(","));
            out.push(')');
        }
        if self.unsigned {
            out.push_str(" unsigned");
        }
        if self.zerofill {
            out.push_str(" zerofill");
        }
        out
    }

    fn numeric_arg(&self, i: usize) -> Option<u8> {
        self.args.get(i).and_then(|a| a.parse().ok())
    }

    /// The Arrow type that holds every value of this column exactly.
    pub fn arrow_type(&self) -> Result<DataType, String> {
        let int = |signed: DataType, unsigned: DataType| {
            if self.unsigned {
                unsigned
            } else {
                signed
            }
        };
        Ok(match self.name.as_str() {
            "tinyint" => int(DataType::Int8, DataType::UInt8),
            "smallint" => int(DataType::Int16, DataType::UInt16),
            "mediumint" | "int" | "integer" => int(DataType::Int32, DataType::UInt32),
            "bigint" => int(DataType::Int64, DataType::UInt64),
            "float" => DataType::Float32,
            "double" | "real" => DataType::Float64,
            "decimal" | "numeric" | "dec" | "fixed" => {
                let precision = self.numeric_arg(0).unwrap_or(10);
                let scale = self.numeric_arg(1).unwrap_or(0) as i8;
                if precision <= 38 {
                    DataType::Decimal128(precision, scale)
                } else {
                    DataType::Decimal256(precision, scale)
                }
            }
            "date" => DataType::Date32,
            "datetime" => DataType::Timestamp(TimeUnit::Microsecond, None),
            "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
            "time" => DataType::Duration(TimeUnit::Microsecond),
            "year" => DataType::UInt16,
            "bit" => DataType::UInt64,
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum"
            | "set" | "json" | "uuid" | "inet4" | "inet6" => DataType::Utf8,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
                DataType::Binary
            }
            other => {
                return Err(format!(
                    "MySQL type `{other}` is not supported; leave the column out with `columns`"
                ))
            }
        })
    }
}

/// Arguments after `(` up to the matching `)`: numbers or single-quoted strings (`''` and
/// backslash escapes inside). Returns the arguments and the text after `)`.
fn parse_args(mut s: &str) -> Option<(Vec<String>, &str)> {
    let mut args = Vec::new();
    loop {
        s = s.trim_start();
        let end = if s.starts_with('\'') {
            quoted_end(s)?
        } else {
            s.find([',', ')'])?
        };
        let arg = s[..end].trim();
        let valid =
            arg.starts_with('\'') || (!arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit()));
        if !valid {
            return None;
        }
        args.push(arg.to_string());
        s = s[end..].trim_start();
        match s.as_bytes().first()? {
            b',' => s = &s[1..],
            b')' => return Some((args, &s[1..])),
            _ => return None,
        }
    }
}

/// Byte index just past the closing quote of the string literal at the start of `s`.
fn quoted_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The Arrow field of a column: its exact Arrow type, the declared type in the metadata, and
/// JSON columns marked with Arrow's `arrow.json` extension.
pub(crate) fn field_for_column(
    name: &str,
    column_type: &ColumnType,
    nullable: bool,
    text: Option<&super::catalog::TextCompare>,
) -> Result<Field, String> {
    let data_type = column_type.arrow_type()?;
    let mut metadata = std::collections::HashMap::from([(TYPE_KEY.to_string(), column_type.sql())]);
    if let Some(text) = text {
        metadata.insert(CHARSET_KEY.to_string(), text.charset.clone());
        metadata.insert(COLLATION_KEY.to_string(), text.collation.clone());
    }
    if column_type.name == "json" {
        metadata.insert(EXTENSION_NAME_KEY.to_string(), JSON_EXTENSION.to_string());
    }
    Ok(Field::new(name, data_type, nullable).with_metadata(metadata))
}

/// The MySQL type to declare for `field` in a new table (`is_key`: the primary key column,
/// which cannot be an unbounded TEXT/BLOB), with the character set and collation the source
/// column compares with. A text key of another source compares as exact bytes, so it gets
/// `exact_collation` (a binary collation of utf8mb4 that does not ignore trailing spaces).
pub(crate) fn declared_type(
    field: &Field,
    is_key: bool,
    exact_collation: &str,
) -> Result<String, String> {
    if let Some(parsed) = declared_column_type(field) {
        let mut sql = parsed.sql();
        if let Some(text) = text_compare(field).filter(|_| is_text_type(&parsed.name)) {
            sql.push_str(&format!(
                " CHARACTER SET {} COLLATE {}",
                text.charset, text.collation
            ));
        } else if is_key && is_text_type(&parsed.name) {
            sql.push_str(&format!(" CHARACTER SET utf8mb4 COLLATE {exact_collation}"));
        }
        return Ok(sql);
    }
    let is_json =
        field.metadata().get(EXTENSION_NAME_KEY).map(String::as_str) == Some(JSON_EXTENSION);
    let mut sql = arrow_declared_type(field.data_type(), is_key, is_json)
        .ok_or_else(|| format!("Arrow type {} has no MySQL column type", field.data_type()))?;
    if is_key && sql.starts_with("varchar") {
        sql.push_str(&format!(" CHARACTER SET utf8mb4 COLLATE {exact_collation}"));
    }
    Ok(sql)
}

/// The declared type `field` carries, when it still describes the field: a transform may
/// change the type and keep the metadata.
pub(crate) fn declared_column_type(field: &Field) -> Option<ColumnType> {
    let parsed = ColumnType::parse(field.metadata().get(TYPE_KEY)?).ok()?;
    (parsed.arrow_type().as_ref() == Ok(field.data_type())).then_some(parsed)
}

/// The character set and collation `field` carries, when both are plain names (they end up
/// in DDL).
pub(crate) fn text_compare(field: &Field) -> Option<super::catalog::TextCompare> {
    let plain = |s: &String| {
        !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    let charset = field.metadata().get(CHARSET_KEY).filter(|s| plain(s))?;
    let collation = field.metadata().get(COLLATION_KEY).filter(|s| plain(s))?;
    Some(super::catalog::TextCompare {
        charset: charset.clone(),
        collation: collation.clone(),
    })
}

/// Whether a declared type holds text (and so has a character set and collation).
pub(crate) fn is_text_type(name: &str) -> bool {
    matches!(
        name,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set"
    )
}

fn arrow_declared_type(data_type: &DataType, is_key: bool, is_json: bool) -> Option<String> {
    let fraction = |unit: &TimeUnit| match unit {
        TimeUnit::Second => "",
        TimeUnit::Millisecond => "(3)",
        TimeUnit::Microsecond | TimeUnit::Nanosecond => "(6)",
    };
    Some(match data_type {
        DataType::Boolean => "tinyint(1)".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::UInt8 => "tinyint unsigned".into(),
        DataType::UInt16 => "smallint unsigned".into(),
        DataType::UInt32 => "int unsigned".into(),
        DataType::UInt64 => "bigint unsigned".into(),
        DataType::Float16 | DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => {
            if *p > 65 || *s < 0 || *s > 30 || (*s as u8) > *p {
                return None;
            }
            format!("decimal({p},{s})")
        }
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(unit, _) => format!("datetime{}", fraction(unit)),
        DataType::Time32(unit) | DataType::Time64(unit) | DataType::Duration(unit) => {
            format!("time{}", fraction(unit))
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View if is_json && !is_key => {
            "json".into()
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            if is_key { "varchar(255)" } else { "longtext" }.into()
        }
        DataType::Dictionary(_, value)
            if matches!(**value, DataType::Utf8 | DataType::LargeUtf8) =>
        {
            if is_key { "varchar(255)" } else { "longtext" }.into()
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            if is_key { "varbinary(255)" } else { "longblob" }.into()
        }
        DataType::FixedSizeBinary(n) if *n <= 255 => format!("binary({n})"),
        DataType::Null => "text".into(),
        _ => return None,
    })
}

/// `name` as a quoted MySQL identifier (backticks doubled inside).
pub(crate) fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrow(text: &str) -> DataType {
        ColumnType::parse(text).unwrap().arrow_type().unwrap()
    }

    #[test]
    fn column_types_map_to_exact_arrow_types() {
        assert_eq!(arrow("bigint(20) unsigned"), DataType::UInt64);
        assert_eq!(arrow("tinyint(4)"), DataType::Int8);
        assert_eq!(arrow("mediumint(8) unsigned zerofill"), DataType::UInt32);
        assert_eq!(arrow("decimal(12,2)"), DataType::Decimal128(12, 2));
        assert_eq!(arrow("decimal(65,30)"), DataType::Decimal256(65, 30));
        assert_eq!(
            arrow("datetime(6)"),
            DataType::Timestamp(TimeUnit::Microsecond, None)
        );
        assert_eq!(
            arrow("timestamp"),
            DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()))
        );
        assert_eq!(arrow("time(6)"), DataType::Duration(TimeUnit::Microsecond));
        assert_eq!(arrow("enum('a','it''s','b,c)')"), DataType::Utf8);
        assert_eq!(arrow("varbinary(16)"), DataType::Binary);
        assert_eq!(arrow("bit(5)"), DataType::UInt64);
        assert!(ColumnType::parse("geometry").unwrap().arrow_type().is_err());
    }

    #[test]
    fn parsing_is_strict_and_round_trips() {
        let t = ColumnType::parse("enum('a','it''s','b,c)')").unwrap();
        assert_eq!(t.args, ["'a'", "'it''s'", "'b,c)'"]);
        assert_eq!(t.sql(), "enum('a','it''s','b,c)')");
        assert_eq!(
            ColumnType::parse("int(10) unsigned").unwrap().sql(),
            "int(10) unsigned"
        );
        for hostile in [
            "int; drop table t",
            "int(1); drop table t",
            "enum('a') drop",
            "varchar(1)) x",
            "enum('a",
            "",
        ] {
            assert!(ColumnType::parse(hostile).is_err(), "{hostile}");
        }
    }

    #[test]
    fn declared_type_comes_back_only_when_it_still_fits() {
        let exact = "utf8mb4_nopad_bin";
        let field = field_for_column(
            "a",
            &ColumnType::parse("decimal(12,2)").unwrap(),
            true,
            None,
        )
        .unwrap();
        assert_eq!(
            declared_type(&field, false, exact).unwrap(),
            "decimal(12,2)"
        );
        // A transform changed the type but kept the metadata: the Arrow type decides.
        let changed = field.clone().with_data_type(DataType::Int64);
        assert_eq!(declared_type(&changed, false, exact).unwrap(), "bigint");
        let json = field_for_column("j", &ColumnType::parse("json").unwrap(), true, None).unwrap();
        assert_eq!(declared_type(&json, false, exact).unwrap(), "json");
        let text = Field::new("s", DataType::Utf8, false);
        assert_eq!(
            declared_type(&text, true, exact).unwrap(),
            "varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
        );
        assert_eq!(declared_type(&text, false, exact).unwrap(), "longtext");
        let compare = super::super::catalog::TextCompare {
            charset: "latin1".into(),
            collation: "latin1_general_cs".into(),
        };
        let code = field_for_column(
            "code",
            &ColumnType::parse("varchar(12)").unwrap(),
            false,
            Some(&compare),
        )
        .unwrap();
        assert_eq!(
            declared_type(&code, true, exact).unwrap(),
            "varchar(12) CHARACTER SET latin1 COLLATE latin1_general_cs"
        );
        // Names that are not plain identifiers never reach DDL.
        let hostile = code.clone().with_metadata(std::collections::HashMap::from([
            (TYPE_KEY.to_string(), "varchar(12)".to_string()),
            (CHARSET_KEY.to_string(), "latin1".to_string()),
            (COLLATION_KEY.to_string(), "x; DROP TABLE t".to_string()),
        ]));
        assert_eq!(
            declared_type(&hostile, false, exact).unwrap(),
            "varchar(12)"
        );
        let nested = Field::new(
            "l",
            DataType::List(std::sync::Arc::new(Field::new(
                "item",
                DataType::Int32,
                true,
            ))),
            true,
        );
        assert!(declared_type(&nested, false, exact).is_err());
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("a`b"), "`a``b`");
    }
}
