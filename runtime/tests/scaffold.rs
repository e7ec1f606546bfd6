//! `fastlane transform new|build|test|inspect` in every language: a scaffolded project builds
//! and passes its own test out of the box, and the commands fail clearly on bad input.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `fastlane ARGS` in `dir`, with the shared component cache and extra environment.
fn fastlane_env(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fastlane"));
    command
        .args(args)
        .current_dir(dir)
        .env("FASTLANE_CACHE_DIR", cache_dir())
        // Rust scaffolds reuse the example transforms' compiled dependencies.
        .env("CARGO_TARGET_DIR", repo().join("transforms/target"))
        .env_remove("RUST_LOG");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the fastlane binary runs")
}

/// new → build → test → inspect for one language.
fn scaffold_builds_and_passes_its_test(lang: &str) {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("hello-{lang}");
    let out = fastlane(dir.path(), &["transform", "new", &name, "--lang", lang]);
    assert_ok(&out);
    let project = dir.path().join(&name);
    assert!(project.join("README.md").is_file(), "{}", text(&out));
    assert!(project.join("sample.csv").is_file());

    let out = fastlane_env(&project, &["transform", "build"], &[]);
    assert_ok(&out);
    let wasm = project.join(format!("{name}.wasm"));
    assert!(wasm.is_file(), "no {}\n{}", wasm.display(), text(&out));
    let built = String::from_utf8_lossy(&out.stdout);
    assert!(
        built.contains(&name),
        "the build reports the transform's name\n{built}"
    );

    let wasm_arg = format!("{name}.wasm");
    let out = fastlane(
        &project,
        &[
            "transform",
            "test",
            &wasm_arg,
            "--input",
            "sample.csv",
            "--expect",
            "expected.csv",
        ],
    );
    assert_ok(&out);
    let report = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "output schema:",
        "ÜMLAUT",
        "output: 5 rows",
        "timing:",
        "match",
    ] {
        assert!(
            report.contains(needle),
            "missing {needle:?}\n{}",
            text(&out)
        );
    }
    // The guest's own log line reaches stderr, tagged with its name.
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.contains(&name), "no guest log line\n{}", text(&out));

    // The same component against a wrong expectation fails and says where.
    std::fs::write(
        project.join("wrong.csv"),
        "id,name\n1,ADA\n2,GRACE\n3,ÜMLAUT\n4,日本\n5,OOPS\n",
    )
    .unwrap();
    let out = fastlane(
        &project,
        &[
            "transform",
            "test",
            &wasm_arg,
            "--input",
            "sample.csv",
            "--expect",
            "wrong.csv",
        ],
    );
    assert_fails(&out, 1, &["differs", "`name` row 4", "OOPS"]);

    let out = fastlane(&project, &["transform", "inspect", &wasm_arg]);
    assert_ok(&out);
    let inspected = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "name: ",
        "config schema:",
        "imports:",
        "log (function)",
        "exports:",
        "transform",
    ] {
        assert!(
            inspected.contains(needle),
            "missing {needle:?}\n{inspected}"
        );
    }
}

#[test]
fn rust_scaffold() {
    scaffold_builds_and_passes_its_test("rust");
}

#[test]
fn python_scaffold() {
    scaffold_builds_and_passes_its_test("python");
}

#[test]
fn js_scaffold() {
    scaffold_builds_and_passes_its_test("js");
}

#[test]
fn c_scaffold() {
    scaffold_builds_and_passes_its_test("c");
}

#[test]
fn new_refuses_bad_names_and_existing_directories() {
    let dir = tempfile::tempdir().unwrap();
    let out = fastlane(
        dir.path(),
        &["transform", "new", "Bad Name", "--lang", "python"],
    );
    assert_fails(&out, 2, &["invalid transform name"]);
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    let out = fastlane(
        dir.path(),
        &["transform", "new", "taken", "--lang", "python"],
    );
    assert_fails(&out, 1, &["already exists"]);
    let out = fastlane(dir.path(), &["transform", "new", "x", "--lang", "cobol"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn build_offers_to_install_a_missing_toolchain() {
    let dir = tempfile::tempdir().unwrap();
    assert_ok(&fastlane(
        dir.path(),
        &["transform", "new", "lonely", "--lang", "python"],
    ));
    let empty = tempfile::tempdir().unwrap();
    // No toolchain in the cache dir, and none on a PATH holding only the basics.
    let out = Command::new(env!("CARGO_BIN_EXE_fastlane"))
        .args(["transform", "build"])
        .current_dir(dir.path().join("lonely"))
        .env("FASTLANE_TOOLCHAINS_DIR", empty.path())
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_fails(
        &out,
        1,
        &[
            "toolchain",
            "--install-toolchain",
            "guest-sdk/python/toolchain.sh",
        ],
    );

    // With --install-toolchain the SDK's toolchain.sh installs what is missing (here the
    // JavaScript packages, into a toolchains dir of the test's own) and the build goes on.
    assert_ok(&fastlane(
        dir.path(),
        &["transform", "new", "eager", "--lang", "js"],
    ));
    let fresh = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fastlane"))
        .args(["transform", "build", "--install-toolchain"])
        .current_dir(dir.path().join("eager"))
        .env("FASTLANE_TOOLCHAINS_DIR", fresh.path())
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("installing the js toolchain"),
        "{}",
        text(&out)
    );
    assert!(fresh.path().join("js/node_modules").is_dir());
    assert!(
        dir.path().join("eager/eager.wasm").is_file(),
        "{}",
        text(&out)
    );

    let out = fastlane(empty.path(), &["transform", "build"]);
    assert_fails(&out, 1, &["cannot tell the language"]);
}

#[test]
fn inspect_and_test_refuse_what_is_not_a_transform() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = wasm("wrong-world");
    let out = fastlane(
        dir.path(),
        &["transform", "inspect", wrong.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("not a usable transform") && report.contains("exports:"),
        "{}",
        text(&out)
    );

    std::fs::write(dir.path().join("in.csv"), "a\n1\n").unwrap();
    let out = fastlane(
        dir.path(),
        &[
            "transform",
            "test",
            wrong.to_str().unwrap(),
            "--input",
            "in.csv",
        ],
    );
    assert_fails(&out, 1, &["does not implement the world"]);

    let filter = wasm("filter");
    let out = fastlane(
        dir.path(),
        &[
            "transform",
            "test",
            filter.to_str().unwrap(),
            "--input",
            "missing.csv",
        ],
    );
    assert_fails(&out, 1, &["missing.csv"]);
    // A config the transform's schema refuses names the key.
    let out = fastlane(
        dir.path(),
        &[
            "transform",
            "test",
            filter.to_str().unwrap(),
            "--input",
            "in.csv",
            "--config",
            r#"{"column": "a", "op": "like", "value": 1}"#,
        ],
    );
    assert_fails(&out, 2, &["op"]);
}
