//! Shared helpers of the integration tests: the real `fastlane` binary, the real transform
//! components from `transforms/dist`, and Parquet files in temporary directories.
#![allow(dead_code)]

pub mod monitor;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;

/// A built transform component; fails with the command to build them when missing.
pub fn wasm(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../transforms/dist")
        .join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: run scripts/build-transforms.sh (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A component cache shared by the tests of this build (the first test compiles, the rest reuse).
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("component-cache")
}

/// `fastlane ARGS` in `dir`, with the shared component cache.
pub fn fastlane(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fastlane"))
        .args(args)
        .current_dir(dir)
        .env("FASTLANE_CACHE_DIR", cache_dir())
        .env_remove("RUST_LOG")
        .output()
        .expect("the fastlane binary runs")
}

/// Send SIGTERM to process `pid` (what Ctrl-C or a service manager does to a run).
pub fn terminate(pid: u32) {
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success(), "kill -TERM {pid} failed");
}

/// Stdout and stderr of a finished command, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "status: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Run with a config written to `dir/pipeline.json`; returns the output.
pub fn run_config(dir: &Path, config: &serde_json::Value, extra: &[&str]) -> Output {
    let path = dir.join("pipeline.json");
    std::fs::write(&path, serde_json::to_string_pretty(config).unwrap()).unwrap();
    let mut args = vec!["run", "--config", "pipeline.json"];
    args.extend_from_slice(extra);
    fastlane(dir, &args)
}

/// The run summary a run wrote with `--summary-json summary.json` in `dir`.
pub fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// Assert the command succeeded.
pub fn assert_ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "expected success\n{}",
        text(out)
    );
}

/// Assert the command failed with `code` and that stderr mentions every one of `needles`.
pub fn assert_fails(out: &Output, code: i32, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit code {code}\n{}",
        text(out)
    );
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "stderr does not mention {needle:?}\n{}",
            text(out)
        );
    }
}

/// Write `batches` as one Parquet file.
pub fn write_parquet(path: &Path, batches: &[RecordBatch]) {
    let file = File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batches[0].schema(), None).unwrap();
    for b in batches {
        writer.write(b).unwrap();
    }
    writer.close().unwrap();
}

/// Read a whole Parquet file into one batch.
pub fn read_parquet(path: &Path) -> RecordBatch {
    let file = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let schema = builder.schema().clone();
    let reader = builder.build().unwrap();
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
    concat_batches(&schema, &batches).unwrap()
}

/// A batch with every type the file formats carry, edge values and nulls in every column.
pub fn all_types_batch(rows: usize, offset: i64) -> RecordBatch {
    use arrow::array::*;
    use arrow::datatypes::*;
    let n = rows;
    let null = |i: usize| i % 7 == 3;
    let idx = |i: usize| offset + i as i64;
    let fields = vec![
        Field::new("id", DataType::Int64, false),
        Field::new("i8", DataType::Int8, true),
        Field::new("i16", DataType::Int16, true),
        Field::new("i32", DataType::Int32, true),
        Field::new("u8", DataType::UInt8, true),
        Field::new("u16", DataType::UInt16, true),
        Field::new("u32", DataType::UInt32, true),
        Field::new("u64", DataType::UInt64, true),
        Field::new("f32", DataType::Float32, true),
        Field::new("f64", DataType::Float64, true),
        Field::new("dec", DataType::Decimal128(38, 10), true),
        Field::new("dec_small", DataType::Decimal128(12, 2), true),
        Field::new("text", DataType::Utf8, true),
        Field::new("bin", DataType::Binary, true),
        Field::new("flag", DataType::Boolean, true),
        Field::new("day", DataType::Date32, true),
        Field::new(
            "ts_utc",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new(
            "ts_paris",
            DataType::Timestamp(TimeUnit::Millisecond, Some("Europe/Paris".into())),
            true,
        ),
        Field::new(
            "ts_naive",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            true,
        ),
        Field::new("t", DataType::Time64(TimeUnit::Microsecond), true),
    ];
    let pick = |i: usize, v: &[i64]| v[i % v.len()];
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values((0..n).map(idx))),
        Arc::new(Int8Array::from_iter(
            (0..n).map(|i| (!null(i)).then(|| [i8::MIN, -1, 0, i8::MAX][i % 4])),
        )),
        Arc::new(Int16Array::from_iter(
            (0..n).map(|i| (!null(i)).then(|| [i16::MIN, 0, i16::MAX][i % 3])),
        )),
        Arc::new(Int32Array::from_iter(
            (0..n).map(|i| (!null(i)).then(|| [i32::MIN, 7, i32::MAX][i % 3])),
        )),
        Arc::new(UInt8Array::from_iter(
            (0..n).map(|i| (!null(i)).then(|| [0, 255][i % 2])),
        )),
        Arc::new(UInt16Array::from_iter(
            (0..n).map(|i| (!null(i)).then(|| [0, u16::MAX][i % 2])),
        )),
        Arc::new(UInt32Array::from_iter(
            (0..n).map(|i| (!null(i)).then(|| [0, u32::MAX][i % 2])),
        )),
        Arc::new(UInt64Array::from_iter(
            (0..n).map(|i| (!null(i)).then(|| [0, 1, u64::MAX][i % 3])),
        )),
        Arc::new(Float32Array::from_iter((0..n).map(|i| {
            (!null(i)).then(|| [f32::MIN, -0.5, 1.5e30, f32::MAX][i % 4])
        }))),
        Arc::new(Float64Array::from_iter((0..n).map(|i| {
            (!null(i)).then(|| [f64::MIN, -2.25, 1e300, f64::EPSILON][i % 4])
        }))),
        Arc::new(
            Decimal128Array::from_iter((0..n).map(|i| {
                (!null(i))
                    .then(|| [-(10i128.pow(38) - 1), -12_345_678_901, 0, 10_000_000_001][i % 4])
            }))
            .with_precision_and_scale(38, 10)
            .unwrap(),
        ),
        Arc::new(
            Decimal128Array::from_iter(
                (0..n).map(|i| (!null(i)).then(|| [-125i128, 99_999_999_999][i % 2])),
            )
            .with_precision_and_scale(12, 2)
            .unwrap(),
        ),
        Arc::new(StringArray::from_iter((0..n).map(|i| {
            (!null(i)).then(|| {
                [
                    "",
                    "plain",
                    "naïve café",
                    "emoji 😀 4-byte",
                    "quote \" comma , newline\nend",
                ][i % 5]
                    .to_string()
            })
        }))),
        Arc::new(BinaryArray::from_iter(
            (0..n).map(|i| (!null(i)).then(|| vec![0u8, 255, i as u8])),
        )),
        Arc::new(BooleanArray::from_iter(
            (0..n).map(|i| (!null(i)).then_some(i % 2 == 0)),
        )),
        Arc::new(Date32Array::from_iter((0..n).map(|i| {
            (!null(i)).then(|| pick(i, &[-719_162, 0, 20_000, 2_932_896]) as i32)
        }))),
        Arc::new(
            TimestampMicrosecondArray::from_iter((0..n).map(|i| {
                (!null(i)).then(|| pick(i, &[-62_135_596_800_000_000, 0, 1_700_000_000_123_456]))
            }))
            .with_timezone("UTC"),
        ),
        Arc::new(
            TimestampMillisecondArray::from_iter(
                (0..n).map(|i| (!null(i)).then(|| pick(i, &[0, 1_700_000_000_123]))),
            )
            .with_timezone("Europe/Paris"),
        ),
        Arc::new(TimestampMicrosecondArray::from_iter((0..n).map(|i| {
            (!null(i)).then(|| pick(i, &[1, 1_600_000_000_000_001]))
        }))),
        Arc::new(Time64MicrosecondArray::from_iter(
            (0..n).map(|i| (!null(i)).then(|| pick(i, &[0, 86_399_999_999]))),
        )),
    ];
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}
