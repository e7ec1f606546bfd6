//! The original fastlane's layout: its top-level `ssm` section, and its defaults where they
//! differ from ours. A config is read in that layout when it has a key only the original
//! defined, or is run by the original's command line ([`original_layout`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{section_at, Overrides};

/// The top-level `ssm` section of the original fastlane's layout.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SsmConfig {
    /// Region of the AWS Secrets Manager entries the sections' `secret` keys name.
    #[schemars(length(min = 1, max = 64), regex(pattern = fastlane_connectors::secrets::REGION_PATTERN))]
    pub region: String,
}

/// Why `doc` is in the original fastlane's layout, if it is: a top-level `ssm` (a key only
/// the original defined), a target keyed by a Glue table (`view_database`, `work_group`), or
/// the original's command line. New configs never look like this.
pub fn original_layout(doc: &Value, overrides: &Overrides) -> Option<&'static str> {
    if doc.get("ssm").is_some() {
        return Some("it has a top-level `ssm` section");
    }
    let glue_target = doc
        .get("target")
        .and_then(Value::as_object)
        .is_some_and(|targets| {
            targets.values().any(|section| {
                section.get("view_database").is_some() || section.get("work_group").is_some()
            })
        });
    if glue_target {
        return Some("its target is keyed by a Glue table (`view_database`, `work_group`)");
    }
    overrides
        .original_cli
        .then_some("it is run by the original's command line (no verb, or `--transform default`)")
}

/// The original fastlane's defaults where they differ from ours: its targets received
/// `_op_type` and `_op_timestamp` columns unless `add_op_fields` said otherwise.
pub(super) fn apply_original_layout(doc: &mut Value, original: bool) {
    let Some(root) = doc.as_object_mut().filter(|_| original) else {
        return;
    };
    if let Some(t) = section_at(root, "transform") {
        t.entry("add_op_fields").or_insert(Value::Bool(true));
    }
}

/// The `ssm.region` of the original's layout, given to every section that names a `secret`
/// and no `secret_region` of its own.
pub(super) fn apply_ssm_region(root: &mut serde_json::Map<String, Value>) {
    let Some(region) = root
        .get("ssm")
        .and_then(|ssm| ssm.get("region"))
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return;
    };
    for kind in ["source", "target"] {
        let Some(sections) = root.get_mut(kind).and_then(Value::as_object_mut) else {
            continue;
        };
        for section in sections.values_mut().filter_map(Value::as_object_mut) {
            if section.contains_key(fastlane_connectors::secrets::SECRET_KEY) {
                section
                    .entry(fastlane_connectors::secrets::SECRET_REGION_KEY)
                    .or_insert_with(|| Value::String(region.clone()));
            }
        }
    }
}
