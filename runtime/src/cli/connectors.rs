//! `fastlane connectors`: what sources and targets this build has, their config keys, and their
//! full config schemas.

use std::fmt::Write as _;

use clap::Args;
use fastlane_connectors::registry::{SOURCES, TARGETS};
use serde_json::Value;

use super::{print_out, EXIT_CONFIG};

/// `fastlane connectors`.
#[derive(Args, Debug)]
pub struct ConnectorsArgs {
    /// Print the full config JSON schema of this connector (`source:file`, `target:file`, or a
    /// bare name), or `pipeline` for the whole pipeline config.
    #[arg(long)]
    schema: Option<String>,
}

pub(crate) fn connectors(args: ConnectorsArgs) -> u8 {
    let Some(name) = args.schema else {
        let mut text = String::new();
        for (kind, entries) in [
            (
                "source",
                SOURCES
                    .iter()
                    .map(|e| (e.name(), e.description(), e.schema()))
                    .collect::<Vec<_>>(),
            ),
            (
                "target",
                TARGETS
                    .iter()
                    .map(|e| (e.name(), e.description(), e.schema()))
                    .collect(),
            ),
        ] {
            for (name, description, schema) in entries {
                let _ = writeln!(text, "{kind} {name}: {description}");
                describe_keys(&mut text, schema.as_value());
                text.push('\n');
            }
        }
        text.push_str(
            "`fastlane connectors --schema source:NAME` prints a connector's full JSON schema.\n",
        );
        print_out(&text);
        return 0;
    };
    let schema = if name == "pipeline" {
        Some(serde_json::to_value(crate::config::pipeline_schema()).unwrap_or_default())
    } else {
        let (kind, bare) = name.split_once(':').unwrap_or(("", name.as_str()));
        let source = SOURCES
            .iter()
            .find(|e| e.name() == bare && kind != "target")
            .map(|e| e.schema());
        let target = TARGETS
            .iter()
            .find(|e| e.name() == bare && kind != "source")
            .map(|e| e.schema());
        match (source, target) {
            (Some(s), Some(t)) => Some(serde_json::json!({ "source": s, "target": t })),
            (s, t) => s.or(t).map(|s| s.to_value()),
        }
    };
    match schema {
        Some(schema) => {
            print_out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            ));
            0
        }
        None => {
            say!("error: no connector named '{name}' (see `fastlane connectors`)");
            EXIT_CONFIG
        }
    }
}

/// One line per config key: name, type, default or "required", first line of its description.
fn describe_keys(out: &mut String, schema: &Value) {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else {
        return;
    };
    for (key, prop) in properties {
        let kind = type_of(prop, schema);
        let default = if required.contains(&key.as_str()) {
            "required".to_string()
        } else {
            match prop.get("default") {
                Some(Value::Null) | None => "optional".to_string(),
                Some(d) => format!("default {d}"),
            }
        };
        let doc = prop["description"]
            .as_str()
            .unwrap_or_default()
            .lines()
            .next()
            .unwrap_or_default();
        let _ = writeln!(out, "  {key:<16} {kind:<24} {default:<20} {doc}");
    }
}

/// A short type name: `string`, `integer`, `csv|jsonl|parquet`, resolving `$ref`s and options.
fn type_of(prop: &Value, root: &Value) -> String {
    if let Some(reference) = prop["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or_default();
        return type_of(&root["$defs"][name], root);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = prop[key].as_array() {
            let names: Vec<String> = options
                .iter()
                .filter(|o| o["type"] != "null")
                .map(|o| match &o["const"] {
                    Value::String(c) => c.clone(),
                    _ => type_of(o, root),
                })
                .collect();
            return names.join("|");
        }
    }
    if let Some(values) = prop["enum"].as_array() {
        return values
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("|");
    }
    match &prop["type"] {
        Value::String(t) if t == "array" => format!("[{}]", type_of(&prop["items"], root)),
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join("|"),
        _ => "any".into(),
    }
}
