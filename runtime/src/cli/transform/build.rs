//! `fastlane transform build [DIR]`: build a project with its language's SDK recipe
//! (`guest-sdk/<lang>/build.sh`), then load the result to check it is a transform.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use super::{Language, SdkArgs};
use crate::cli::EXIT_FAILED;
use crate::wasm::{SandboxLimits, TransformRuntime};

/// `fastlane transform build`.
#[derive(Args, Debug)]
pub(crate) struct BuildArgs {
    /// The project directory (default: the current directory).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Where to write the component (default: `DIR/<name>.wasm`).
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
    /// The project's language (default: told by its files: Cargo.toml, pyproject.toml,
    /// package.json, *.c).
    #[arg(long, short = 'l')]
    lang: Option<Language>,
    /// When the language's toolchain is missing, install it (the SDK's toolchain.sh) and
    /// build. Without it, a terminal is asked; anything else gets the command to run.
    #[arg(long)]
    install_toolchain: bool,
    #[command(flatten)]
    sdk: SdkArgs,
}

/// Exit code of an SDK's build.sh when a tool it needs is not installed.
const TOOLCHAIN_MISSING: i32 = 3;

pub(crate) async fn build(args: BuildArgs) -> u8 {
    match tokio::task::block_in_place(|| run(&args)) {
        Ok(()) => 0,
        Err(e) => {
            say!("error: {e:#}");
            EXIT_FAILED
        }
    }
}

fn run(args: &BuildArgs) -> anyhow::Result<()> {
    let dir = std::fs::canonicalize(&args.dir)
        .with_context(|| format!("project directory {}", args.dir.display()))?;
    let lang = match args.lang {
        Some(lang) => lang,
        None => detect(&dir)?,
    };
    let name = project_name(&dir, lang)?;
    let out = match &args.out {
        Some(out) => {
            std::path::absolute(out).with_context(|| format!("output path {}", out.display()))?
        }
        None => dir.join(format!("{name}.wasm")),
    };
    let sdk = args.sdk.language_dir(lang)?;
    say!(
        "==> building {} ({lang}) into {}",
        dir.display(),
        out.display()
    );
    let mut started = Instant::now();
    let build = || {
        std::process::Command::new("bash")
            .arg(sdk.join("build.sh"))
            .arg(&dir)
            .arg(&out)
            .status()
            .context("cannot start bash to run the SDK's build.sh")
    };
    let mut status = build()?;
    if status.code() == Some(TOOLCHAIN_MISSING) {
        let toolchain = sdk.join("toolchain.sh");
        if !(args.install_toolchain || agreed_on_terminal(lang, &toolchain)) {
            anyhow::bail!(
                "the {lang} toolchain is incomplete (see above): run again with \
                 --install-toolchain, or install it with: bash {}",
                toolchain.display()
            );
        }
        say!(
            "==> installing the {lang} toolchain: bash {}",
            toolchain.display()
        );
        let installed = std::process::Command::new("bash")
            .arg(&toolchain)
            .status()
            .context("cannot start bash to run the SDK's toolchain.sh")?;
        if !installed.success() {
            anyhow::bail!(
                "installing the {lang} toolchain failed ({installed}): see above ({})",
                toolchain.display()
            );
        }
        started = Instant::now();
        status = build()?;
    }
    match status.code() {
        Some(0) => {}
        Some(TOOLCHAIN_MISSING) => anyhow::bail!(
            "the {lang} toolchain is still incomplete after installing it (see above)"
        ),
        _ => anyhow::bail!("building {} failed ({status})", dir.display()),
    }
    let elapsed = started.elapsed();
    let size = std::fs::metadata(&out)
        .with_context(|| format!("the build reported success but wrote no {}", out.display()))?
        .len();
    // Load it as `run` would: a build that is not a transform of the right world fails here.
    let runtime = TransformRuntime::new(1, &SandboxLimits::default(), None)?;
    let component = runtime.load(&out, SandboxLimits::default())?;
    let info = component.instantiate()?.describe()?;
    println!(
        "built {} ({}) in {:.1} s: {} {} ({})",
        out.display(),
        human_size(size),
        elapsed.as_secs_f64(),
        info.name,
        info.version,
        info.description
    );
    Ok(())
}

/// Ask on a terminal whether to install the missing toolchain; `false` when stdin or stderr
/// is not a terminal (a script or CI never waits on a question).
fn agreed_on_terminal(lang: Language, toolchain: &Path) -> bool {
    use std::io::{BufRead, IsTerminal, Write};
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return false;
    }
    eprint!(
        "the {lang} toolchain is missing: install it now (bash {})? [y/N] ",
        toolchain.display()
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// The language a project directory is written in, told by its files.
pub(crate) fn detect(dir: &Path) -> anyhow::Result<Language> {
    let has = |file: &str| dir.join(file).is_file();
    if has("Cargo.toml") {
        return Ok(Language::Rust);
    }
    if has("pyproject.toml") {
        return Ok(Language::Python);
    }
    if has("package.json") {
        return Ok(Language::Js);
    }
    let has_c = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(Result::ok)
        .any(|e| e.path().extension().is_some_and(|x| x == "c"));
    if has_c {
        return Ok(Language::C);
    }
    anyhow::bail!(
        "cannot tell the language of {}: no Cargo.toml, pyproject.toml, package.json or .c file \
         (pass --lang)",
        dir.display()
    )
}

/// The project's name from its manifest (the directory's name for C).
fn project_name(dir: &Path, lang: Language) -> anyhow::Result<String> {
    let from_dir = || {
        dir.file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
            .ok_or_else(|| anyhow::anyhow!("{} has no usable name", dir.display()))
    };
    let read = |file: &str| {
        let path = dir.join(file);
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    let name = match lang {
        Language::Rust => toml_name(&read("Cargo.toml")?, "package"),
        Language::Python => toml_name(&read("pyproject.toml")?, "project"),
        Language::Js => serde_json::from_str::<serde_json::Value>(&read("package.json")?)
            .context("package.json is not JSON")?
            .get("name")
            .and_then(|n| n.as_str())
            .map(|n| n.rsplit('/').next().unwrap_or(n).to_string()),
        Language::C => None,
    };
    match name {
        Some(name) => Ok(name),
        None => from_dir(),
    }
}

fn toml_name(text: &str, table: &str) -> Option<String> {
    let doc: toml::Table = toml::from_str(text).ok()?;
    doc.get(table)?.get("name")?.as_str().map(str::to_string)
}

/// `1.4 MB`, `184 KB`, `900 B`.
pub(crate) fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.0} KB", b as f64 / 1e3),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_manifests() {
        assert_eq!(
            toml_name(
                "[package]\nname = \"hello\"\nversion = \"0.1.0\"\n",
                "package"
            )
            .as_deref(),
            Some("hello")
        );
        assert_eq!(
            toml_name("[project]\nname = \"p\"\n", "project").as_deref(),
            Some("p")
        );
        assert_eq!(toml_name("not toml [", "package"), None);
    }

    #[test]
    fn detects_each_language() {
        let dir = tempfile::tempdir().unwrap();
        assert!(detect(dir.path()).is_err());
        std::fs::write(dir.path().join("t.c"), "").unwrap();
        assert_eq!(detect(dir.path()).unwrap(), Language::C);
        std::fs::write(dir.path().join("package.json"), "{}").unwrap();
        assert_eq!(detect(dir.path()).unwrap(), Language::Js);
        std::fs::write(dir.path().join("pyproject.toml"), "").unwrap();
        assert_eq!(detect(dir.path()).unwrap(), Language::Python);
        std::fs::write(dir.path().join("Cargo.toml"), "").unwrap();
        assert_eq!(detect(dir.path()).unwrap(), Language::Rust);
    }
}
