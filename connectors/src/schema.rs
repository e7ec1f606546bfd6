//! Comparing Arrow schemas, to say exactly how two files or batches differ.

use arrow::datatypes::{Field, Schema};

/// How `actual` differs from `expected` (column names, order, types, nullability), or `None`
/// when their columns are the same. Schema-level metadata is ignored.
pub fn difference(expected: &Schema, actual: &Schema) -> Option<String> {
    let (exp, act) = (expected.fields(), actual.fields());
    if exp.len() != act.len() {
        return Some(format!(
            "expected {} columns ({}), found {} ({})",
            exp.len(),
            names(expected),
            act.len(),
            names(actual)
        ));
    }
    exp.iter()
        .zip(act.iter())
        .enumerate()
        .find_map(|(i, (e, a))| {
            (e != a).then(|| {
                format!(
                    "column {}: expected {}, found {}",
                    i + 1,
                    describe(e),
                    describe(a)
                )
            })
        })
}

/// `name: Type` plus `(nullable)` or `(not null)`.
pub fn describe(field: &Field) -> String {
    let null = if field.is_nullable() {
        "nullable"
    } else {
        "not null"
    };
    format!("`{}`: {} ({null})", field.name(), field.data_type())
}

/// The column names of `schema`, comma-separated, for messages.
pub fn names(schema: &Schema) -> String {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::DataType;

    use super::*;

    #[test]
    fn names_the_first_differing_column() {
        let a = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("x", DataType::Utf8, true),
        ]);
        let b = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("x", DataType::Int32, true),
        ]);
        assert_eq!(difference(&a, &a), None);
        assert_eq!(
            difference(&a, &b).as_deref(),
            Some("column 2: expected `x`: Utf8 (nullable), found `x`: Int32 (nullable)")
        );
        let c = Schema::new(vec![Field::new("id", DataType::Int64, false)]);
        assert_eq!(
            difference(&a, &c).as_deref(),
            Some("expected 2 columns (id, x), found 1 (id)")
        );
    }
}
