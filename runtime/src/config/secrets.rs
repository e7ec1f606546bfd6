//! The secrets a config holds: marked `writeOnly` in a connector's schema, or the password of
//! a URL. They are redacted from what is shown or stored, and registered with the redaction
//! of this process so no message shows them.

use serde_json::Value;

/// Replace the values `schema` marks `writeOnly` (secrets) in `value`, at any depth.
pub(super) fn redact_write_only(schema: &Value, value: &mut Value) {
    let (Some(properties), Some(fields)) = (
        schema.get("properties").and_then(Value::as_object),
        value.as_object_mut(),
    ) else {
        return;
    };
    for (key, field) in fields.iter_mut() {
        let Some(property) = properties.get(key) else {
            continue;
        };
        let reference = field
            .as_str()
            .is_some_and(|s| s.starts_with("${") && s.ends_with('}'));
        if property.get("writeOnly") == Some(&Value::Bool(true)) && !field.is_null() && !reference {
            *field = Value::String(fastlane_wire::redact::REDACTED.into());
        } else {
            redact_write_only(property, field);
        }
    }
}

/// Remember, as secrets of this process, the values `schema` marks `writeOnly` in `value`
/// and the passwords of the URLs in it, so that no log line, message or report shows them.
pub(crate) fn register_secrets(schema: &Value, value: &Value) {
    let properties = schema.get("properties").and_then(Value::as_object);
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                let property = properties.and_then(|p| p.get(key));
                if property.and_then(|p| p.get("writeOnly")) == Some(&Value::Bool(true)) {
                    if let Some(secret) = field.as_str() {
                        fastlane_wire::redact::register_secret(secret);
                    }
                }
                register_secrets(property.unwrap_or(&Value::Null), field);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| register_secrets(&Value::Null, item)),
        Value::String(text) => {
            if let Some(password) = url_password(text) {
                fastlane_wire::redact::register_secret(password);
            }
        }
        _ => {}
    }
}

/// The password of `scheme://user:password@host…`, if `text` is such a URL.
fn url_password(text: &str) -> Option<&str> {
    let rest = &text[text.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    Some(&userinfo[userinfo.find(':')? + 1..]).filter(|p| !p.is_empty())
}
