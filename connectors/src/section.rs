//! Turning a connector's JSON config section into its typed config.

use serde::de::DeserializeOwned;

use crate::{ConnectorError, Result};

/// Deserialize the config section found at `section` (e.g. `source.file`); an error names the
/// JSON path of the offending key (`source.file.batch_size`).
pub(crate) fn parse<T: DeserializeOwned>(value: serde_json::Value, section: &str) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let key = err.path().to_string();
        let at = if key == "." {
            section.to_string()
        } else {
            format!("{section}.{key}")
        };
        ConnectorError::config(at, err.into_inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Example {
        size: u32,
    }

    #[test]
    fn errors_name_the_json_path() {
        let err = parse::<Example>(serde_json::json!({ "size": "big" }), "source.x").unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Config { path, .. } if path == "source.x.size"),
            "{err}"
        );

        let err = parse::<Example>(serde_json::json!({ "size": 1, "colour": 2 }), "source.x")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("source.x.colour: unknown field `colour`"),
            "{err}"
        );
    }
}
