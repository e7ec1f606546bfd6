//! `fastlane serve`: the monitoring service.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::{EXIT_CONFIG, EXIT_FAILED};

/// `fastlane serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port and prints it).
    #[arg(long, env = "FASTLANE_API_BIND", default_value = "127.0.0.1:8787")]
    bind: SocketAddr,
    /// Database: `sqlite://PATH?mode=rwc` or `postgres://USER:PASSWORD@HOST:PORT/DB`
    /// (default: a SQLite file in the user's data directory).
    #[arg(long, env = "FASTLANE_DATABASE_URL")]
    database_url: Option<String>,
    /// Bearer token required for writes (reads stay open unless --protect-reads).
    #[arg(long, env = "FASTLANE_API_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Reads of pipelines, configs, runs, metrics and logs (in the API and the web UI) need the
    /// token too: logs and configs can be sensitive.
    #[arg(long, env = "FASTLANE_API_PROTECT_READS", requires = "token")]
    protect_reads: bool,
    /// Database connections in the pool.
    #[arg(long, default_value_t = 8)]
    max_connections: u32,
    /// Log level on stderr (RUST_LOG overrides).
    #[arg(long, default_value = "info")]
    log_level: String,
}

pub(crate) async fn serve(args: ServeArgs) -> u8 {
    if let Err(e) = crate::logging::init(&args.log_level, None) {
        say!("error: {e:#}");
        return EXIT_CONFIG;
    }
    if args.protect_reads && args.token.as_deref().is_none_or(|t| t.trim().is_empty()) {
        say!("error: --protect-reads needs a non-empty --token (FASTLANE_API_TOKEN is empty)");
        return EXIT_CONFIG;
    }
    let database_url = match args.database_url {
        Some(url) => url,
        None => match default_database() {
            Ok(url) => url,
            Err(e) => {
                say!("error: {e:#}");
                return EXIT_CONFIG;
            }
        },
    };
    let config = fastlane_api::ServeConfig {
        bind: args.bind,
        database_url,
        token: args.token,
        protect_reads: args.protect_reads,
        max_connections: args.max_connections,
    };
    match fastlane_api::serve(config).await {
        Ok(()) => 0,
        Err(e) => {
            say!("error: {e:#}");
            EXIT_FAILED
        }
    }
}

/// `sqlite://$XDG_DATA_HOME/fastlane/monitor.db` (or under `~/.local/share`).
fn default_database() -> anyhow::Result<String> {
    let dir = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .ok_or_else(|| anyhow::anyhow!("no HOME: pass --database-url"))?
        .join("fastlane");
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    Ok(format!(
        "sqlite://{}?mode=rwc",
        dir.join("monitor.db").display()
    ))
}
