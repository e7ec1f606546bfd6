//! `fastlane transform new|build|test|inspect`: the loop a transform author lives in.
//!
//! The language-specific work (templates, toolchains, build recipes) lives with each SDK in
//! `guest-sdk/<lang>/` (`template/`, `toolchain.sh`, `build.sh`); these commands find the SDK,
//! call it, and run the result in the same sandbox `fastlane run` uses.

mod build;
mod compare;
mod inspect;
mod new;
mod test;

use std::fmt;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

/// `fastlane transform`.
#[derive(Args, Debug)]
pub struct TransformArgs {
    #[command(subcommand)]
    command: TransformCommand,
}

#[derive(Subcommand, Debug)]
enum TransformCommand {
    /// Scaffold a transform project that builds and passes its own test out of the box.
    New(new::NewArgs),
    /// Build a transform project into a WebAssembly component.
    Build(build::BuildArgs),
    /// Run a component on a sample file and print its output, logs and timing.
    Test(test::TestArgs),
    /// Print what a component says about itself (`describe`) and what it imports.
    Inspect(inspect::InspectArgs),
}

/// Run a `fastlane transform` subcommand; the process's exit code.
pub(crate) async fn transform(args: TransformArgs) -> u8 {
    match args.command {
        TransformCommand::New(a) => new::new(a),
        TransformCommand::Build(a) => build::build(a).await,
        TransformCommand::Test(a) => test::test(a).await,
        TransformCommand::Inspect(a) => inspect::inspect(a).await,
    }
}

/// A language with a guest SDK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Language {
    /// Rust, with the `fastlane-guest` crate.
    Rust,
    /// Python, with componentize-py.
    #[value(alias = "py")]
    Python,
    /// JavaScript, with componentize-js and apache-arrow.
    #[value(alias = "javascript")]
    Js,
    /// C, with wit-bindgen's C bindings and nanoarrow.
    C,
}

impl Language {
    /// The SDK's directory name under `guest-sdk/`.
    fn dir_name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::Js => "js",
            Language::C => "c",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dir_name())
    }
}

/// Where the guest SDKs are: `--sdk-dir`, else `$FASTLANE_SDK_DIR`, else `guest-sdk/` of the
/// checkout this binary was built from, else `guest-sdk/` beside or above the executable.
#[derive(Args, Debug, Clone)]
pub(crate) struct SdkArgs {
    /// Directory holding the guest SDKs (`rust/`, `python/`, `js/`, `c/`).
    #[arg(long, env = "FASTLANE_SDK_DIR", value_name = "DIR")]
    sdk_dir: Option<PathBuf>,
}

impl SdkArgs {
    /// The SDK directory of `lang`, checked to hold what the commands need.
    fn language_dir(&self, lang: Language) -> anyhow::Result<PathBuf> {
        let root = self.root()?;
        let dir = root.join(lang.dir_name());
        if !dir.join("build.sh").is_file() {
            anyhow::bail!(
                "the {lang} SDK is not in {} (no build.sh there); point --sdk-dir or \
                 FASTLANE_SDK_DIR at a fastlane checkout's guest-sdk/",
                dir.display()
            );
        }
        Ok(dir)
    }

    fn root(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.sdk_dir {
            return std::fs::canonicalize(dir).map_err(|e| {
                anyhow::anyhow!("--sdk-dir / FASTLANE_SDK_DIR {}: {e}", dir.display())
            });
        }
        let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk");
        let mut candidates = vec![built_from];
        if let Ok(exe) = std::env::current_exe() {
            candidates.extend(exe.ancestors().skip(1).map(|d| d.join("guest-sdk")));
        }
        candidates
            .into_iter()
            .find(|d| d.join("rust").is_dir())
            .and_then(|d| std::fs::canonicalize(d).ok())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "cannot find the guest SDKs; pass --sdk-dir or set FASTLANE_SDK_DIR to a \
                     fastlane checkout's guest-sdk/"
                )
            })
    }
}
