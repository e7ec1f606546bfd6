//! Round trips file → passthrough.wasm → file: what comes out equals what went in, type by type.

mod common;

use arrow::compute::concat_batches;
use common::*;
use serde_json::json;

#[test]
fn parquet_all_types_through_passthrough_are_identical() {
    let dir = tempfile::tempdir().unwrap();
    // Several files and batches, so ordering across 3 workers is exercised too.
    let inputs: Vec<_> = (0..3).map(|f| all_types_batch(1000, f * 1000)).collect();
    for (f, batch) in inputs.iter().enumerate() {
        write_parquet(
            &dir.path().join(format!("in-{f}.parquet")),
            std::slice::from_ref(batch),
        );
    }
    let out = run_config(
        dir.path(),
        &json!({
            "source": { "file": { "path": "in-*.parquet", "batch_size": 300 } },
            "transform": { "wasm": wasm("passthrough"), "concurrency": 3 },
            "target": { "file": { "path": "out/all.parquet" } }
        }),
        &[],
    );
    assert_ok(&out);
    let expected = concat_batches(&inputs[0].schema(), &inputs).unwrap();
    let got = read_parquet(&dir.path().join("out/all.parquet"));
    assert_eq!(got.schema(), expected.schema(), "schema changed");
    assert_eq!(got, expected, "values changed or reordered");
}

#[test]
fn native_path_matches_the_wasm_path() {
    let dir = tempfile::tempdir().unwrap();
    write_parquet(&dir.path().join("in.parquet"), &[all_types_batch(2000, 0)]);
    let config = |transform: serde_json::Value, out: &str| {
        json!({
            "source": { "file": { "path": "in.parquet", "batch_size": 256 } },
            "transform": transform,
            "target": { "file": { "path": out } }
        })
    };
    assert_ok(&run_config(
        dir.path(),
        &config(serde_json::Value::Null, "native.parquet"),
        &[],
    ));
    assert_ok(&run_config(
        dir.path(),
        &config(json!({ "wasm": wasm("passthrough") }), "wasm.parquet"),
        &[],
    ));
    assert_eq!(
        read_parquet(&dir.path().join("native.parquet")),
        read_parquet(&dir.path().join("wasm.parquet"))
    );
}

#[test]
fn csv_and_jsonl_round_trips_keep_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "id,name,amount,active,note\n1,Zoë 😀,12.5,true,\n2,\"comma, inside\",-3.25,false,x\n3,plain,0.0,true,\"quote \"\"here\"\"\"\n";
    std::fs::write(dir.path().join("in.csv"), csv).unwrap();
    let jsonl = "{\"id\":1,\"name\":\"Zoë 😀\",\"amount\":12.5,\"active\":true,\"note\":null}\n{\"id\":2,\"name\":\"a\",\"amount\":-3.25,\"active\":false,\"note\":\"x\"}\n";
    std::fs::write(dir.path().join("in.jsonl"), jsonl).unwrap();
    for (input, output) in [
        ("in.csv", "out.csv"),
        ("in.jsonl", "out.jsonl"),
        ("in.csv", "csv.parquet"),
        ("in.jsonl", "jsonl.parquet"),
    ] {
        let out = run_config(
            dir.path(),
            &json!({
                "source": { "file": { "path": input } },
                "transform": { "wasm": wasm("passthrough"), "concurrency": 2 },
                "target": { "file": { "path": output } }
            }),
            &[],
        );
        assert_ok(&out);
    }
    // Text formats: read both sides back with the same reader and compare typed values.
    for (a, b) in [
        ("in.csv", "out.csv"),
        ("in.jsonl", "out.jsonl"),
        ("in.csv", "csv.parquet"),
        ("in.jsonl", "jsonl.parquet"),
    ] {
        let left = show_rows(dir.path(), a);
        let right = show_rows(dir.path(), b);
        assert_eq!(left, right, "{a} and {b} differ");
    }
}

/// The rows of a file as `fastlane show` prints them (schema and values).
fn show_rows(dir: &std::path::Path, file: &str) -> String {
    let out = fastlane(dir, &["show", file, "--rows", "100"]);
    assert_ok(&out);
    String::from_utf8(out.stdout).unwrap()
}

/// A worker copies each result out of the guest into a buffer that it reuses once every batch
/// pointing into it is gone: batches still held downstream must never change under later calls.
#[test]
fn batches_held_downstream_stay_intact_while_the_worker_reuses_its_buffers() {
    use fastlane::wasm::{SandboxLimits, TransformRuntime};
    let limits = SandboxLimits::default();
    let runtime = TransformRuntime::new(1, &limits, Some(cache_dir())).unwrap();
    let component = runtime.load(&wasm("passthrough"), limits).unwrap();
    let mut instance = component.instantiate().unwrap();
    instance.init("{}").unwrap();
    let input = |seq: i64| all_types_batch(2000, seq * 2000);

    let mut held = Vec::new();
    for seq in 0..24 {
        let out = instance
            .transform(seq as u64, &input(seq))
            .unwrap()
            .unwrap();
        // Let two of every three results go, as a target that has written them would; their
        // buffers are then reused for the following calls.
        if seq % 3 == 0 {
            held.push((seq, out));
        }
    }
    for (seq, out) in &held {
        assert_eq!(out, &input(*seq), "batch {seq} changed after later calls");
    }
}
