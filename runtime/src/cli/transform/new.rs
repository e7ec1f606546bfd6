//! `fastlane transform new NAME --lang LANG`: copy the SDK's template into `NAME/`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use super::{Language, SdkArgs};
use crate::cli::{EXIT_CONFIG, EXIT_FAILED};

/// `fastlane transform new`.
#[derive(Args, Debug)]
pub(crate) struct NewArgs {
    /// Name of the transform and of its directory: a lowercase letter, then lowercase letters,
    /// digits, `-` or `_`.
    name: String,
    /// Language of the project.
    #[arg(long, short = 'l')]
    lang: Language,
    /// Directory to create the project in (default: the current directory).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    #[command(flatten)]
    sdk: SdkArgs,
}

/// Directories of a template that are build output, never copied.
const SKIPPED: &[&str] = &["target", "node_modules", "__pycache__", "dist", ".git"];

pub(crate) fn new(args: NewArgs) -> u8 {
    if let Err(message) = check_name(&args.name) {
        say!("error: {message}");
        return EXIT_CONFIG;
    }
    match scaffold(&args) {
        Ok(project) => {
            let shown = project.display();
            println!("created a {} transform in {shown}", args.lang);
            println!("next:");
            println!("  cd {shown}");
            println!("  fastlane transform build");
            println!(
                "  fastlane transform test {}.wasm --input sample.csv --expect expected.csv",
                args.name
            );
            0
        }
        Err(e) => {
            say!("error: {e:#}");
            EXIT_FAILED
        }
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if first_ok && rest_ok && name.len() <= 64 {
        Ok(())
    } else {
        Err(format!(
            "invalid transform name {name:?}: use a lowercase letter, then lowercase letters, \
             digits, '-' or '_' (at most 64 characters)"
        ))
    }
}

fn scaffold(args: &NewArgs) -> anyhow::Result<PathBuf> {
    let sdk = args.sdk.language_dir(args.lang)?;
    let template = sdk.join("template");
    anyhow::ensure!(
        template.is_dir(),
        "the {} SDK has no template/ in {}",
        args.lang,
        sdk.display()
    );
    let parent = match &args.dir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let project = parent.join(&args.name);
    anyhow::ensure!(
        !project.exists(),
        "{} already exists; choose another name or --dir",
        project.display()
    );
    let sdk_root = sdk.parent().unwrap_or(&sdk).display().to_string();
    let substitute = |text: &str| {
        text.replace("{{name}}", &args.name)
            .replace("{{sdk_dir}}", &sdk_root)
    };
    let written = copy_template(&template, &project, &substitute);
    if let Err(e) = written {
        // Leave nothing half-made behind.
        let _ = std::fs::remove_dir_all(&project);
        return Err(e);
    }
    if args.lang == Language::Rust && !project.join("Cargo.lock").exists() {
        // The SDK's lock file pins the dependency versions known to build on this toolchain.
        let lock = sdk.join("Cargo.lock");
        if lock.is_file() {
            std::fs::copy(&lock, project.join("Cargo.lock"))
                .with_context(|| format!("cannot copy {}", lock.display()))?;
        }
    }
    Ok(project)
}

/// Copy `from` into `to` (created), substituting the placeholders in file names and in every
/// file that is UTF-8 text.
fn copy_template(
    from: &Path,
    to: &Path,
    substitute: &dyn Fn(&str) -> String,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let entries =
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", from.display()))?;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            anyhow::bail!("template file name {file_name:?} is not UTF-8");
        };
        let source = entry.path();
        let dest = to.join(substitute(name));
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot stat {}", source.display()))?;
        if kind.is_dir() {
            if !SKIPPED.contains(&name) {
                copy_template(&source, &dest, substitute)?;
            }
            continue;
        }
        let bytes =
            std::fs::read(&source).with_context(|| format!("cannot read {}", source.display()))?;
        let bytes = match String::from_utf8(bytes) {
            Ok(text) => substitute(&text).into_bytes(),
            Err(raw) => raw.into_bytes(),
        };
        std::fs::write(&dest, bytes).with_context(|| format!("cannot write {}", dest.display()))?;
        let permissions = std::fs::metadata(&source)
            .with_context(|| format!("cannot stat {}", source.display()))?
            .permissions();
        std::fs::set_permissions(&dest, permissions)
            .with_context(|| format!("cannot set permissions on {}", dest.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn names() {
        for ok in ["hello", "mask-pii", "a1_b2"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Hello", "1abc", "a b", "a/b", "../x", "é"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
