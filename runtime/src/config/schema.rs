//! Checking JSON against a JSON schema, every violation turned into a [`Problem`] a user can
//! act on: the dotted path of the value at fault and what is wrong with it.

use jsonschema::error::ValidationErrorKind;
use jsonschema::ValidationError;
use serde_json::Value;

use super::{PipelineConfig, Problem};

/// Validate `value` against `schema`; every violation as a [`Problem`] under `prefix`.
pub fn schema_problems(schema: &schemars::Schema, value: &Value, prefix: &str) -> Vec<Problem> {
    let validator = match jsonschema::validator_for(schema.as_value()) {
        Ok(v) => v,
        Err(e) => {
            return vec![Problem {
                path: display_path(prefix),
                message: format!("internal schema error: {e}"),
            }]
        }
    };
    let mut problems = Vec::new();
    for error in validator.iter_errors(value) {
        explain(&error, prefix, &mut problems);
    }
    problems.dedup();
    problems
}

/// Turn one validation error into problems a user can act on.
fn explain(e: &ValidationError<'_>, prefix: &str, out: &mut Vec<Problem>) {
    let path = dotted(prefix, &e.instance_path().to_string());
    match e.kind() {
        // Name the missing or unexpected key itself, not the object holding it.
        ValidationErrorKind::Required { property } => {
            let key = property.as_str().unwrap_or_default();
            out.push(Problem {
                path: join(&path, key),
                message: "required field is missing".into(),
            });
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for key in unexpected {
                out.push(Problem {
                    path: join(&path, key),
                    message: "unknown field (check its spelling; unknown fields are rejected)"
                        .into(),
                });
            }
        }
        // `Option<T>` and enums become anyOf/oneOf: report what is wrong inside the one
        // alternative the user evidently meant, or list the allowed values.
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            let here = e.instance_path().to_string();
            let shallow = |b: &ValidationError<'_>| {
                b.instance_path().to_string() == here
                    && matches!(
                        b.kind(),
                        ValidationErrorKind::Type { .. }
                            | ValidationErrorKind::Constant { .. }
                            | ValidationErrorKind::Enum { .. }
                    )
            };
            let meant: Vec<_> = context
                .iter()
                .filter(|branch| !branch.iter().all(shallow))
                .collect();
            if let [branch] = meant.as_slice() {
                for inner in branch.iter() {
                    explain(inner, prefix, out);
                }
                return;
            }
            // Alternative sets of keys (`bucket`, or `database` and `table`): name them.
            let missing: Option<Vec<Vec<String>>> = context
                .iter()
                .map(|branch| {
                    branch
                        .iter()
                        .map(|b| match b.kind() {
                            ValidationErrorKind::Required { property } => {
                                Some(format!("`{}`", property.as_str().unwrap_or_default()))
                            }
                            _ => None,
                        })
                        .collect::<Option<Vec<String>>>()
                })
                .collect();
            if let Some(sets) = missing.filter(|s| s.len() > 1 && s.iter().all(|k| !k.is_empty())) {
                let sets: Vec<String> = sets.iter().map(|keys| keys.join(" and ")).collect();
                out.push(Problem {
                    path: display_path(&path),
                    message: format!("needs {}", sets.join(", or ")),
                });
                return;
            }
            let allowed: Vec<String> = context
                .iter()
                .flatten()
                .flat_map(|b| match b.kind() {
                    ValidationErrorKind::Constant { expected_value } => {
                        vec![expected_value.to_string()]
                    }
                    ValidationErrorKind::Enum { options } => options
                        .as_array()
                        .map(|o| o.iter().map(Value::to_string).collect())
                        .unwrap_or_default(),
                    _ => vec![],
                })
                .collect();
            let message = if meant.is_empty() && !allowed.is_empty() {
                format!("{} is not one of {}", e.instance(), allowed.join(", "))
            } else {
                e.to_string()
            };
            out.push(Problem {
                path: display_path(&path),
                message,
            });
        }
        _ => out.push(Problem {
            path: display_path(&path),
            message: e.to_string(),
        }),
    }
}

/// `prefix` + a JSON pointer → `source.file.columns[2]`.
fn dotted(prefix: &str, pointer: &str) -> String {
    let mut path = prefix.to_string();
    for part in pointer.split('/').filter(|p| !p.is_empty()) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part.chars().all(|c| c.is_ascii_digit()) {
            path.push_str(&format!("[{part}]"));
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&part);
        }
    }
    path
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(super) fn display_path(path: &str) -> String {
    if path.is_empty() {
        "<root>".into()
    } else {
        path.to_string()
    }
}

/// JSON schema of the whole pipeline config, for `fastlane connectors --schema`.
pub fn pipeline_schema() -> schemars::Schema {
    schemars::schema_for!(PipelineConfig)
}
