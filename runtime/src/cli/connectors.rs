//! `fastlane connectors`: what sources and targets this build has, and their config schemas.

use clap::Args;
use fastlane_connectors::registry::{SOURCES, TARGETS};

use super::EXIT_CONFIG;

/// `fastlane connectors`.
#[derive(Args, Debug)]
pub struct ConnectorsArgs {
    /// Print the config JSON schema of this connector (`source:file`, `target:file`, or a bare
    /// name), or `pipeline` for the whole pipeline config.
    #[arg(long)]
    schema: Option<String>,
}

pub(crate) fn connectors(args: ConnectorsArgs) -> u8 {
    let Some(name) = args.schema else {
        println!("sources:");
        for e in SOURCES {
            println!("  {:<12} {}", e.name, e.description);
        }
        println!("targets:");
        for e in TARGETS {
            println!("  {:<12} {}", e.name, e.description);
        }
        println!("\n`fastlane connectors --schema NAME` prints a connector's config schema.");
        return 0;
    };
    let schema = if name == "pipeline" {
        Some(crate::config::pipeline_schema())
    } else {
        let (kind, bare) = name.split_once(':').unwrap_or(("", name.as_str()));
        let source = SOURCES
            .iter()
            .find(|e| e.name == bare && kind != "target")
            .map(|e| (e.config_schema)());
        let target = TARGETS
            .iter()
            .find(|e| e.name == bare && kind != "source")
            .map(|e| (e.config_schema)());
        match (source, target) {
            (Some(s), Some(t)) => {
                println!("{}", serde_json::json!({ "source": s, "target": t }));
                return 0;
            }
            (s, t) => s.or(t),
        }
    };
    match schema {
        Some(schema) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            0
        }
        None => {
            eprintln!("error: no connector named '{name}' (see `fastlane connectors`)");
            EXIT_CONFIG
        }
    }
}
