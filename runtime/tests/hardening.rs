//! The paths where "lose nothing, fail loudly" used to break, through the real binary: component
//! paths that are not a sane file, a damaged or shared component cache, a second stop signal
//! while a guest is stuck, a killed run's leftovers, two runs on one file, an empty source
//! under FULL_TABLE, inferred types that would change values, and a config the transform
//! refuses.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn small_csv(dir: &Path) {
    write(dir, "in.csv", "id,name\n1,a\n2,b\n");
}

#[test]
fn component_paths_that_are_not_a_sane_file_fail_fast_with_a_short_message() {
    let dir = tempfile::tempdir().unwrap();
    small_csv(dir.path());
    std::fs::create_dir(dir.path().join("a-directory.wasm")).unwrap();
    let fifo = dir.path().join("pipe.wasm");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::fs::File::create(dir.path().join("sparse.wasm"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let line = "this is not a component, just a long line of text ".repeat(20);
    write(dir.path(), "text.wasm", &format!("{line}\n").repeat(20_000));
    write(dir.path(), "empty.wasm", "");
    let config = json!({
        "source": { "file": { "path": "in.csv" } },
        "target": { "file": { "path": "out.csv" } }
    });
    write(dir.path(), "pipeline.json", &config.to_string());
    for (path, reason) in [
        ("a-directory.wasm", "is a directory"),
        ("/dev/zero", "character device"),
        ("pipe.wasm", "named pipe"),
        ("sparse.wasm", "max_component_mb"),
        ("text.wasm", "not a WebAssembly component"),
        ("empty.wasm", "the file is empty"),
    ] {
        for verb in ["validate", "run"] {
            let started = Instant::now();
            let out = fastlane(
                dir.path(),
                &[verb, "--config", "pipeline.json", "--transform", path],
            );
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{verb} {path} took {:?}",
                started.elapsed()
            );
            assert_fails(&out, 1, &[path, reason]);
            assert!(
                out.stderr.len() < 4096,
                "{verb} {path}: {} bytes of stderr",
                out.stderr.len()
            );
        }
    }
    assert!(!dir.path().join("out.csv").exists());
}

/// The one precompiled entry in `cache` (and its digest file).
fn cache_entry(cache: &Path) -> std::path::PathBuf {
    let entries: Vec<_> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let digest = entries[0].with_extension("cwasm.sha256");
    assert!(
        digest.is_file(),
        "no digest beside {}",
        entries[0].display()
    );
    entries[0].clone()
}

#[test]
fn a_damaged_cache_entry_is_recompiled_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let config = json!({
        "source": { "generate": { "rows": 2000, "batch_size": 500 } },
        "transform": { "wasm": wasm("passthrough"), "concurrency": 1 },
        "target": { "file": { "path": "out.parquet" } }
    });
    write(dir.path(), "pipeline.json", &config.to_string());
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_fastlane"))
            .args(["run", "--config", "pipeline.json", "--cache-dir"])
            .arg(&cache)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    assert_ok(&run());
    let expected = read_parquet(&dir.path().join("out.parquet"));
    let entry = cache_entry(&cache);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&cache).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o700, "the cache directory is private");
    let good = std::fs::read(&entry).unwrap();

    let damages: Vec<(&str, Damage)> = vec![
        ("first byte flipped", Box::new(|p: &Path| flip(p, 0))),
        (
            "a byte in the middle flipped",
            Box::new(|p: &Path| {
                let len = std::fs::metadata(p).unwrap().len() as usize;
                flip(p, len / 2)
            }),
        ),
        (
            "last byte flipped",
            Box::new(|p: &Path| {
                let len = std::fs::metadata(p).unwrap().len() as usize;
                flip(p, len - 1)
            }),
        ),
        (
            "truncated",
            Box::new(|p: &Path| {
                let bytes = std::fs::read(p).unwrap();
                std::fs::write(p, &bytes[..bytes.len() / 3]).unwrap()
            }),
        ),
        (
            "zeroed",
            Box::new(|p: &Path| {
                let len = std::fs::metadata(p).unwrap().len() as usize;
                std::fs::write(p, vec![0u8; len]).unwrap()
            }),
        ),
        (
            "digest missing",
            Box::new(|p: &Path| std::fs::remove_file(p.with_extension("cwasm.sha256")).unwrap()),
        ),
    ];
    for (what, damage) in damages {
        damage(&entry);
        let out = run();
        assert_ok(&out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("recompiling"),
            "{what}: no warning\n{stderr}"
        );
        assert_eq!(
            read_parquet(&dir.path().join("out.parquet")),
            expected,
            "{what}"
        );
        assert_eq!(
            std::fs::read(&entry).unwrap(),
            good,
            "{what}: the entry was not rewritten"
        );
        // Rewritten whole: the next run uses it again, without a warning.
        let again = run();
        assert_ok(&again);
        assert!(
            !String::from_utf8_lossy(&again.stderr).contains("recompiling"),
            "{what}"
        );
    }

    // A cache directory others can write to is not used at all.
    std::fs::set_permissions(&cache, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    std::fs::remove_file(&entry).unwrap();
    let out = run();
    assert_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not using the compiled-component cache")
            && stderr.contains("others can write"),
        "{stderr}"
    );
    assert!(!entry.exists(), "a shared cache directory was written to");
}

/// A way to damage a cache entry on disk.
type Damage = Box<dyn Fn(&Path)>;

fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x5a;
    std::fs::write(path, bytes).unwrap();
}

/// A run of `hostile` stuck in a call (a 2-minute deadline) over generated rows.
fn stuck_run(dir: &Path, mode: &str) -> std::process::Child {
    write(dir, "out.csv", "previous\n");
    let config = json!({
        "source": { "generate": { "rows": 100_000, "batch_size": 1000 } },
        "transform": { "wasm": wasm("hostile"), "concurrency": 1, "config": { "mode": "loop" },
                       "limits": { "call_timeout_ms": 120_000 } },
        "target": { "file": { "path": "out.csv" } },
        "replication_mode": mode,
    });
    write(dir, "pipeline.json", &config.to_string());
    Command::new(env!("CARGO_BIN_EXE_fastlane"))
        .args(["run", "--config", "pipeline.json"])
        .current_dir(dir)
        .env("FASTLANE_CACHE_DIR", cache_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait for `child` to end, at most `limit`; its output.
fn ended_within(child: std::process::Child, limit: Duration) -> std::process::Output {
    let started = Instant::now();
    let pid = child.id();
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    while !waiter.is_finished() {
        if started.elapsed() > limit {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("the run did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    waiter.join().unwrap()
}

#[test]
fn a_second_signal_stops_at_once_even_while_a_guest_is_stuck_in_a_call() {
    let dir = tempfile::tempdir().unwrap();
    let child = stuck_run(dir.path(), "INCREMENTAL");
    std::thread::sleep(Duration::from_millis(2500));
    terminate(child.id());
    std::thread::sleep(Duration::from_millis(300));
    terminate(child.id());
    let out = ended_within(child, Duration::from_secs(5));
    assert_fails(&out, 130, &["second stop request"]);
}

#[test]
fn one_signal_stops_a_full_table_run_at_once_and_keeps_the_old_target() {
    let dir = tempfile::tempdir().unwrap();
    let child = stuck_run(dir.path(), "FULL_TABLE");
    std::thread::sleep(Duration::from_millis(2500));
    terminate(child.id());
    let out = ended_within(child, Duration::from_secs(5));
    assert_fails(&out, 130, &["FULL_TABLE run keeps nothing"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.csv")).unwrap(),
        "previous\n"
    );
}

#[test]
fn inferred_file_types_never_change_a_value() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "codes.csv",
        "zip,qty,price\n00501,1,1.50\n02134,2,2.25\n10001,3,3\n",
    );
    let out = run_config(
        dir.path(),
        &json!({ "source": { "file": { "path": "codes.csv" } },
                 "target": { "file": { "path": "codes.parquet" } } }),
        &[],
    );
    assert_ok(&out);
    let batch = read_parquet(&dir.path().join("codes.parquet"));
    let zips: Vec<_> = batch
        .column(0)
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .expect("zip stays text")
        .iter()
        .map(|v| v.unwrap().to_string())
        .collect();
    assert_eq!(zips, ["00501", "02134", "10001"]);

    write(
        dir.path(),
        "big.jsonl",
        "{\"id\": 18446744073709551615}\n{\"id\": 1}\n",
    );
    assert_ok(&run_config(
        dir.path(),
        &json!({ "source": { "file": { "path": "big.jsonl" } },
                 "target": { "file": { "path": "big.parquet" } } }),
        &[],
    ));
    let batch = read_parquet(&dir.path().join("big.parquet"));
    let ids = batch
        .column(0)
        .as_any()
        .downcast_ref::<arrow::array::UInt64Array>()
        .expect("u64 stays exact");
    assert_eq!(ids.value(0), u64::MAX);
}

/// A long FULL_TABLE run into `out.parquet`, started and left running.
fn long_run(dir: &Path) -> std::process::Child {
    let config = json!({
        "source": { "generate": { "rows": 200_000_000u64, "batch_size": 50_000 } },
        "target": { "file": { "path": "out.parquet" } }
    });
    write(dir, "long.json", &config.to_string());
    Command::new(env!("CARGO_BIN_EXE_fastlane"))
        .args(["run", "--config", "long.json"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("fastlane-tmp"))
        .collect()
}

#[test]
fn a_killed_runs_temporary_file_goes_at_the_next_run_and_two_runs_never_share_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = long_run(dir.path());
    let started = Instant::now();
    while temp_files(dir.path()).is_empty() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        temp_files(dir.path()).len(),
        1,
        "the run writes its temporary file"
    );

    // A second run of the same target while the first one writes is refused.
    let second = run_config(
        dir.path(),
        &json!({ "source": { "generate": { "rows": 10 } },
                 "target": { "file": { "path": "out.parquet" } } }),
        &[],
    );
    assert_fails(&second, 1, &["another run is writing", "out.parquet"]);

    first.kill().unwrap(); // SIGKILL: no cleanup of its own
    first.wait().unwrap();
    assert_eq!(
        temp_files(dir.path()).len(),
        1,
        "the killed run left its file"
    );

    let next = run_config(
        dir.path(),
        &json!({ "source": { "generate": { "rows": 10 } },
                 "target": { "file": { "path": "out.parquet" } } }),
        &[],
    );
    assert_ok(&next);
    assert!(
        String::from_utf8_lossy(&next.stderr).contains("left by an earlier run"),
        "{}",
        text(&next)
    );
    assert!(
        temp_files(dir.path()).is_empty(),
        "{:?}",
        temp_files(dir.path())
    );
    assert_eq!(read_parquet(&dir.path().join("out.parquet")).num_rows(), 10);
    let hidden: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "left behind: {hidden:?}");
}

#[test]
fn an_empty_source_never_silently_empties_a_full_table_target() {
    let dir = tempfile::tempdir().unwrap();
    let config = |source: &str, allow_empty: bool| {
        json!({ "source": { "file": { "path": source } },
                "target": { "file": { "path": "out.csv" } },
                "allow_empty": allow_empty })
    };
    write(dir.path(), "out.csv", "id,name\n1,kept\n");
    write(dir.path(), "zero.csv", "");
    let out = run_config(dir.path(), &config("zero.csv", false), &[]);
    assert_fails(&out, 1, &["zero.csv", "no header line"]);

    write(dir.path(), "header.csv", "id,name\n");
    let out = run_config(dir.path(), &config("header.csv", false), &[]);
    assert_fails(&out, 1, &["no rows", "allow_empty"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.csv")).unwrap(),
        "id,name\n1,kept\n"
    );

    let out = run_config(dir.path(), &config("header.csv", true), &[]);
    assert_ok(&out);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.csv")).unwrap(),
        "id,name\n"
    );
}

#[test]
fn a_config_the_transform_refuses_names_the_transform_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    small_csv(dir.path());
    let run = |name: &str, config: Value| {
        run_config(
            dir.path(),
            &json!({ "source": { "file": { "path": "in.csv" } },
                     "transform": { "wasm": wasm(name), "config": config },
                     "target": { "file": { "path": "out.csv" } } }),
            &[],
        )
    };
    // Refused by the schema `describe` gives.
    let out = run("mask", json!({ "columns": ["name"], "method": "rot13" }));
    assert_fails(&out, 2, &["transform 'mask'", "transform.config.method"]);
    // Refused by the transform's own `init` (the schema allows any integer; a 32-bit guest's
    // `usize` does not hold this one): the SDK names the key, the host the transform.
    let out = run(
        "hostile",
        json!({ "mode": "log", "bytes": 5_000_000_000u64 }),
    );
    assert_fails(
        &out,
        2,
        &[
            "transform 'hostile'",
            "refused its config",
            "transform.config.bytes",
        ],
    );
    assert!(!dir.path().join("out.csv").exists());
}
