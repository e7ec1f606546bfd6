//! `${NAME}` references to the environment in any string of a config.

use serde_json::Value;

use super::schema::display_path;
use super::Problem;

/// Replace `${NAME}` in every string with the environment variable's value.
pub(super) fn resolve_env(value: &mut Value, path: &mut String, problems: &mut Vec<Problem>) {
    match value {
        Value::String(s) if s.contains("${") => match expand(s) {
            Ok(v) => *s = v,
            Err(name) => problems.push(Problem {
                path: display_path(path),
                message: format!(
                    "environment variable {name} referenced as ${{{name}}} is not set"
                ),
            }),
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                resolve_env(item, path, problems);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                resolve_env(item, path, problems);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Expand `${NAME}` references; `Err(NAME)` for the first unset variable. `$${` escapes.
pub(super) fn expand(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        if start > 0 && rest.as_bytes()[start - 1] == b'$' {
            out.push_str(&rest[..start - 1]);
            out.push_str("${");
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &rest[start + 2..start + end];
        out.push_str(&std::env::var(name).map_err(|_| name.to_string())?);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
