//! `hostile`: TEST ONLY. Misbehaves on purpose in `transform` so tests can check that the host
//! contains it (deadline, memory cap, traps, output checks, sandbox, captured stdio).
//!
//! Config: `{"mode": "<mode>", "bytes": 83886080, "batches": 2}`, where mode is one of
//! - `loop`: spins forever (until the per-call deadline);
//! - `alloc`: allocates and touches ever more memory, kept alive, until the memory cap;
//! - `panic`: `panic!("hostile panic on purpose")` (a trap: the SDK builds with panic=abort);
//! - `garbage`: returns `b"this is not arrow ipc"`;
//! - `huge`: returns `bytes` zero bytes (default 80 MiB), for the output size cap;
//! - `open-file`: reads `/etc/hostname` and counts the environment; expected to fail with
//!   "open /etc/hostname denied: ..."; anything visible is reported as "SANDBOX ESCAPE: ...";
//! - `fail-after`: passes `batches` batches (default 2) through, then fails every later one
//!   with "failing on purpose at batch N" (N counts batches seen by this instance, from 1);
//! - `stdout`: prints "hello from hostile stdout" to stdout and a line to stderr, passes through;
//! - `log`: logs "hello from hostile log" at info level through the host, passes through;
//! - `slow`: sleeps `millis` milliseconds (default 200) per batch, then passes it through.

use fastlane_guest::{log, Error, Info, RecordBatch, Transform};
use serde::Deserialize;

const CONFIG_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "hostile",
  "description": "Test only: misbehaves on purpose in transform.",
  "type": "object",
  "properties": {
    "mode": {
      "enum": ["loop", "alloc", "panic", "garbage", "huge", "open-file", "fail-after", "stdout", "log", "slow"],
      "description": "The misbehaviour."
    },
    "bytes": { "type": "integer", "minimum": 0, "default": 83886080, "description": "huge: size of the output." },
    "batches": { "type": "integer", "minimum": 0, "default": 2, "description": "fail-after: batches passed through before failing." },
    "millis": { "type": "integer", "minimum": 0, "default": 200, "description": "slow: milliseconds slept per batch." }
  },
  "required": ["mode"],
  "additionalProperties": false
}"#;

/// The config, as documented in the crate docs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    mode: Mode,
    #[serde(default = "default_bytes")]
    bytes: usize,
    #[serde(default = "default_batches")]
    batches: u64,
    #[serde(default = "default_millis")]
    millis: u64,
}

fn default_millis() -> u64 {
    200
}

fn default_bytes() -> usize {
    80 << 20
}

fn default_batches() -> u64 {
    2
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    Loop,
    Alloc,
    Panic,
    Garbage,
    Huge,
    OpenFile,
    FailAfter,
    Stdout,
    Log,
    Slow,
}

/// The misbehaving transform.
struct Hostile {
    config: Config,
    /// Batches seen by this instance.
    seen: u64,
}

impl Transform for Hostile {
    fn describe() -> Info {
        Info::new(
            "hostile",
            env!("CARGO_PKG_VERSION"),
            "Test only: misbehaves on purpose to exercise the host's sandbox and limits",
        )
        .with_config_schema(CONFIG_SCHEMA)
    }

    fn init(config: &str) -> Result<Self, Error> {
        Ok(Hostile {
            config: fastlane_guest::parse_config(config)?,
            seen: 0,
        })
    }

    /// The modes that return bytes which are not a valid result work here, below the codec.
    fn transform_ipc(&mut self, input: Vec<u8>) -> Result<Vec<u8>, Error> {
        match self.config.mode {
            Mode::Garbage => Ok(b"this is not arrow ipc".to_vec()),
            Mode::Huge => Ok(vec![0; self.config.bytes]),
            _ => fastlane_guest::ipc::transform_stream(self, input),
        }
    }

    fn transform(&mut self, batch: RecordBatch) -> Result<RecordBatch, Error> {
        self.seen += 1;
        match self.config.mode {
            Mode::Loop => spin(),
            Mode::Alloc => hoard(),
            Mode::Panic => panic!("hostile panic on purpose"),
            Mode::OpenFile => Err(probe_sandbox()),
            Mode::FailAfter if self.seen > self.config.batches => Err(Error::Failed(format!(
                "failing on purpose at batch {}",
                self.seen
            ))),
            Mode::Stdout => {
                println!("hello from hostile stdout");
                eprintln!("hello from hostile stderr");
                Ok(batch)
            }
            Mode::Log => {
                log::info("hello from hostile log");
                Ok(batch)
            }
            Mode::Slow => {
                std::thread::sleep(std::time::Duration::from_millis(self.config.millis));
                Ok(batch)
            }
            Mode::FailAfter | Mode::Garbage | Mode::Huge => Ok(batch),
        }
    }
}

/// Loops forever; `black_box` keeps the optimizer from proving the loop has no effect.
fn spin() -> ! {
    let mut n = 0u64;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Allocates ever larger blocks, writes every page, and keeps them all until the allocator
/// (or the host's memory cap) gives out.
fn hoard() -> ! {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    let mut size = 1usize << 20;
    loop {
        let mut block = vec![0u8; size];
        for page in block.chunks_mut(4096) {
            page[0] = 1;
        }
        kept.push(std::hint::black_box(block));
        size = (size * 2).min(64 << 20);
    }
}

/// Tries what a sandboxed guest must not be able to do; returns the error to report.
fn probe_sandbox() -> Error {
    let env_vars = std::env::vars().count();
    match std::fs::read("/etc/hostname") {
        Ok(bytes) => Error::Failed(format!("SANDBOX ESCAPE: read {} bytes", bytes.len())),
        Err(_) if env_vars > 0 => Error::Failed(format!(
            "SANDBOX ESCAPE: {env_vars} environment variables visible"
        )),
        Err(e) => Error::Failed(format!("open /etc/hostname denied: {e}")),
    }
}

fastlane_guest::export!(Hostile);
