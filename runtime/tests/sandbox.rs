//! Hostile and broken guests: each fails the run with a message naming the cause, the host
//! survives, and a trapped instance never runs again.

mod common;

use std::path::Path;

use common::*;
use fastlane::wasm::{SandboxLimits, TransformRuntime};
use serde_json::json;

/// A small input file, and a config running `hostile.wasm` in `mode` over it.
fn hostile_run(
    dir: &Path,
    config: serde_json::Value,
    limits: serde_json::Value,
) -> std::process::Output {
    std::fs::write(
        dir.join("in.jsonl"),
        "{\"id\":1,\"v\":\"a\"}\n{\"id\":2,\"v\":\"b\"}\n",
    )
    .unwrap();
    std::fs::write(dir.join("out.jsonl"), "previous content\n").unwrap();
    let out = run_config(
        dir,
        &json!({
            "source": { "file": { "path": "in.jsonl" } },
            "transform": { "wasm": wasm("hostile"), "concurrency": 1, "config": config, "limits": limits },
            "target": { "file": { "path": "out.jsonl" } }
        }),
        &[],
    );
    // Whatever happened, the previous target is intact and no temporary file is left behind.
    assert_eq!(
        std::fs::read_to_string(dir.join("out.jsonl")).unwrap(),
        "previous content\n",
        "target was touched"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    out
}

#[test]
fn infinite_loop_hits_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = hostile_run(
        dir.path(),
        json!({ "mode": "loop" }),
        json!({ "call_timeout_ms": 300 }),
    );
    assert_fails(&out, 1, &["hostile", "batch 0", "deadline of 300 ms"]);
    assert!(
        started.elapsed().as_secs() < 20,
        "the deadline did not stop the loop promptly"
    );
}

#[test]
fn allocating_until_death_hits_the_memory_cap() {
    let dir = tempfile::tempdir().unwrap();
    let out = hostile_run(
        dir.path(),
        json!({ "mode": "alloc" }),
        json!({ "memory_mb": 64 }),
    );
    assert_fails(&out, 1, &["hostile", "batch 0", "memory cap of 64 MiB"]);
}

#[test]
fn a_panic_is_reported_with_transform_batch_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = hostile_run(dir.path(), json!({ "mode": "panic" }), json!({}));
    assert_fails(
        &out,
        1,
        &["hostile", "batch 0", "trapped", "hostile panic on purpose"],
    );
}

#[test]
fn bytes_that_are_not_arrow_ipc_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = hostile_run(dir.path(), json!({ "mode": "garbage" }), json!({}));
    assert_fails(
        &out,
        1,
        &["hostile", "batch 0", "not a valid Arrow IPC stream"],
    );
}

#[test]
fn output_past_the_cap_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = hostile_run(
        dir.path(),
        json!({ "mode": "huge", "bytes": 12 * 1024 * 1024 }),
        json!({ "max_output_mb": 8 }),
    );
    assert_fails(&out, 1, &["hostile", "batch 0", "output cap of 8 MiB"]);
}

#[test]
fn the_filesystem_and_environment_are_denied() {
    let dir = tempfile::tempdir().unwrap();
    let out = hostile_run(dir.path(), json!({ "mode": "open-file" }), json!({}));
    assert_fails(&out, 1, &["hostile", "denied"]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("SANDBOX ESCAPE"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_guest_error_names_transform_and_batch() {
    let dir = tempfile::tempdir().unwrap();
    let out = hostile_run(
        dir.path(),
        json!({ "mode": "fail-after", "batches": 0 }),
        json!({}),
    );
    assert_fails(
        &out,
        1,
        &["transform 'hostile' batch 0: failed: failing on purpose"],
    );
}

#[test]
fn a_component_of_the_wrong_world_is_refused_before_data_moves() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.jsonl"), "{\"id\":1}\n").unwrap();
    let config = json!({
        "source": { "file": { "path": "in.jsonl" } },
        "transform": { "wasm": wasm("wrong-world") },
        "target": { "file": { "path": "out.jsonl" } }
    });
    std::fs::write(dir.path().join("pipeline.json"), config.to_string()).unwrap();
    let validate = fastlane(dir.path(), &["validate", "--config", "pipeline.json"]);
    assert_fails(
        &validate,
        1,
        &["wrong-world", "fastlane:transform/transformer"],
    );
    let run = run_config(dir.path(), &config, &[]);
    assert_fails(&run, 1, &["wrong-world", "fastlane:transform/transformer"]);
    assert!(
        !dir.path().join("out.jsonl").exists(),
        "data moved although the component was refused"
    );
    // Not a component at all.
    std::fs::write(dir.path().join("junk.wasm"), b"definitely not wasm").unwrap();
    let junk = fastlane(
        dir.path(),
        &[
            "validate",
            "--config",
            "pipeline.json",
            "--transform",
            "junk.wasm",
        ],
    );
    assert_fails(&junk, 1, &["junk.wasm", "not a WebAssembly component"]);
}

#[test]
fn guest_stdout_and_logs_reach_the_run_log() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.jsonl"), "{\"id\":1}\n").unwrap();
    for mode in ["stdout", "log"] {
        let out = run_config(
            dir.path(),
            &json!({
                "source": { "file": { "path": "in.jsonl" } },
                "transform": { "wasm": wasm("hostile"), "config": { "mode": mode } },
                "target": { "file": { "path": "out.jsonl" } }
            }),
            &["--logs-to-file", "run.log"],
        );
        assert_ok(&out);
    }
    let log = std::fs::read_to_string(dir.path().join("run.log")).unwrap();
    assert!(log.contains("hello from hostile stdout"), "{log}");
    assert!(log.contains("hello from hostile log"), "{log}");
    assert!(
        log.contains("\"transform\":\"hostile\""),
        "log lines name the transform: {log}"
    );
}

#[test]
fn the_host_survives_a_trap_and_never_reuses_the_instance() {
    let limits = SandboxLimits {
        call_timeout_ms: 200,
        ..SandboxLimits::default()
    };
    let runtime = TransformRuntime::new(2, &limits, Some(cache_dir())).unwrap();
    let component = runtime.load(&wasm("hostile"), limits).unwrap();
    let batch = all_types_batch(10, 0);

    let mut looping = component.instantiate().unwrap();
    looping.init(r#"{"mode":"loop"}"#).unwrap();
    let first = looping.transform(0, &batch).unwrap_err().to_string();
    assert!(first.contains("deadline"), "{first}");
    let again = looping.transform(1, &batch).unwrap_err().to_string();
    assert!(again.contains("discarded after an earlier trap"), "{again}");

    // The same component still gives healthy instances.
    let mut healthy = component.instantiate().unwrap();
    healthy.init(r#"{"mode":"stdout"}"#).unwrap();
    let out = healthy.transform(0, &batch).unwrap().unwrap();
    assert_eq!(out, batch);
}
