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
    // Nothing is said to be ok before everything is: the component is checked first.
    let transform = match tokio::task::block_in_place(|| prepare(&resolved, args.cache_dir.clone()))
    {
        Ok(Some(t)) => format!(
            "transform ok: {} {} ({}), {} worker(s), sha256 {}",
            t.info.name,
            t.info.version,
            t.info.description,
            t.stage.instances.len(),
            &t.digest[..12]
        ),
        Ok(None) => "no transform: batches go straight from source to target".to_string(),
        Err(e) => {
            say!("error: {e:#}");
            return if e.downcast_ref::<config::ConfigError>().is_some() {
                EXIT_CONFIG
            } else {
                EXIT_FAILED
            };
        }
    };
    println!(
        "config ok: source {} → target {}",
        resolved.source_type, resolved.target_type
    );
    if let Some(reason) = resolved.original_layout {
        println!(
            "read in the original fastlane's layout ({reason}): add_op_fields is {}",
            resolved.add_op_fields()
        );
    }
    println!("{transform}");
    0
}
