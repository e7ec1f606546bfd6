//! `fastlane transform inspect my.wasm`: what a component says about itself and what it needs.

use std::path::PathBuf;

use clap::Args;

use super::build::human_size;
use crate::cli::{print_out, EXIT_FAILED};
use crate::wasm::{SandboxLimits, TransformRuntime};

/// `fastlane transform inspect`.
#[derive(Args, Debug)]
pub(crate) struct InspectArgs {
    /// The component (.wasm).
    wasm: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn inspect(args: InspectArgs) -> u8 {
    match tokio::task::block_in_place(|| report(&args)) {
        Ok((text, ok)) => {
            print_out(&text);
            if ok {
                0
            } else {
                EXIT_FAILED
            }
        }
        Err(e) => {
            say!("error: {e:#}");
            EXIT_FAILED
        }
    }
}

/// What the sandbox gives an import.
fn grant(import: &str) -> &'static str {
    if import == "log" {
        "provided: the run log"
    } else if import.starts_with("fastlane:transform/types") {
        "provided: the contract's types"
    } else if import.starts_with("wasi:") {
        "linked; no files, env, args or network are granted"
    } else {
        "NOT provided: the component cannot be loaded"
    }
}

/// The report and whether the component implements the transform contract.
fn report(args: &InspectArgs) -> anyhow::Result<(String, bool)> {
    let limits = SandboxLimits::default();
    let runtime = TransformRuntime::new(1, &limits, None)?;
    let size = std::fs::metadata(&args.wasm)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.wasm.display()))?
        .len();
    let interface = runtime.interface(&args.wasm)?;
    let described = runtime
        .load(&args.wasm, limits.clone())
        .and_then(|component| component.instantiate()?.describe());

    if args.json {
        let items = |list: &[(String, String)]| {
            list.iter()
                .map(|(name, kind)| serde_json::json!({ "name": name, "kind": kind }))
                .collect::<Vec<_>>()
        };
        let mut doc = serde_json::json!({
            "path": args.wasm.display().to_string(),
            "size_bytes": size,
            "sha256": interface.digest,
            "imports": items(&interface.imports),
            "exports": items(&interface.exports),
        });
        match &described {
            Ok(info) => doc["describe"] = serde_json::to_value(info)?,
            Err(e) => doc["error"] = e.to_string().into(),
        }
        return Ok((
            format!("{}\n", serde_json::to_string_pretty(&doc)?),
            described.is_ok(),
        ));
    }

    let mut text = format!(
        "component: {} ({}, sha256 {})\n",
        args.wasm.display(),
        human_size(size),
        interface.digest
    );
    match &described {
        Ok(info) => {
            text.push_str(&format!(
                "describe:\n  name: {}\n  version: {}\n  description: {}\n  config schema:\n",
                info.name, info.version, info.description
            ));
            let schema = serde_json::to_string_pretty(&info.config_schema)?;
            for line in schema.lines() {
                text.push_str(&format!("    {line}\n"));
            }
        }
        Err(e) => text.push_str(&format!("not a usable transform: {e}\n")),
    }
    text.push_str("imports:\n");
    for (name, kind) in &interface.imports {
        text.push_str(&format!("  {name} ({kind}): {}\n", grant(name)));
    }
    text.push_str("exports:\n");
    for (name, kind) in &interface.exports {
        text.push_str(&format!("  {name} ({kind})\n"));
    }
    Ok((text, described.is_ok()))
}
