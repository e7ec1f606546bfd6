//! `fastlane validate`: the config and the transform checked, nothing connected or moved.

use super::{PipelineArgs, EXIT_CONFIG, EXIT_FAILED};
use crate::config;
use crate::run::transform::prepare;

/// Check the config, then the component (world, `describe`, config schema, `init`).
pub(crate) async fn validate(args: PipelineArgs) -> u8 {
    crate::logging::init("warn", None).ok();
    let resolved = match config::load(args.config.as_deref(), &args.overrides(None)) {
        Ok(c) => c,
        Err(e) => {
            say!("error: {e}");
            return EXIT_CONFIG;
        }
    };
    println!(
        "config ok: source {} → target {}",
        resolved.source_type, resolved.target_type
    );
    match tokio::task::block_in_place(|| prepare(&resolved, args.cache_dir.clone())) {
        Ok(Some(t)) => {
            println!(
                "transform ok: {} {} ({}), {} worker(s), sha256 {}",
                t.info.name,
                t.info.version,
                t.info.description,
                t.stage.instances.len(),
                &t.digest[..12]
            );
            0
        }
        Ok(None) => {
            println!("no transform: batches go straight from source to target");
            0
        }
        Err(e) => {
            say!("error: {e:#}");
            if e.downcast_ref::<config::ConfigError>().is_some() {
                EXIT_CONFIG
            } else {
                EXIT_FAILED
            }
        }
    }
}
