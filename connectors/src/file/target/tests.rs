use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use serde_json::json;

use super::*;

fn ids(values: &[i64]) -> RecordBatch {
    RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(values.to_vec())) as _)]).unwrap()
}

async fn destination(config: serde_json::Value) -> Result<Box<dyn Target>> {
    let context = TargetContext {
        run_id: "run/1".into(),
        ..Default::default()
    };
    crate::test_util::open_target("file", config, context).await
}

/// The files under `dir`, but the run locks (see `held_locks`).
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = walk(dir)
        .into_iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .filter(|name| !name.ends_with(".fastlane-lock"))
        .collect();
    names.sort();
    names
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flat_map(|e| {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

#[tokio::test]
async fn file_appears_only_at_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/out.csv");
    let dest = destination(json!({ "path": path })).await.unwrap();
    assert_eq!(dest.target_id(), path.display().to_string());
    assert!(dest.needs_order());
    assert_eq!(dest.get_offset().await.unwrap(), None);

    let mut writer = dest.writer(0).await.unwrap();
    writer.load(ids(&[1, 2])).await.unwrap();
    writer.load(ids(&[3])).await.unwrap();
    writer.finish().await.unwrap();
    assert!(!path.exists(), "visible before commit");
    assert_eq!(
        entries(dir.path()),
        ["nested/dir/.out.csv.fastlane-tmp-run_1"]
    );

    dest.commit().await.unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "id\n1\n2\n3\n");
    assert_eq!(entries(dir.path()), ["nested/dir/out.csv"]);
    // The run's lock lives beside the file as long as the run, and goes with it.
    let lock = dir.path().join("nested/dir/.out.csv.fastlane-lock");
    assert!(lock.exists());
    assert!(
        destination(json!({ "path": path })).await.is_err(),
        "a second run while the first holds the file"
    );
    drop(dest);
    assert!(!lock.exists());
}

#[tokio::test]
async fn abort_keeps_the_previous_file_and_removes_the_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.jsonl");
    std::fs::write(&path, "previous run\n").unwrap();
    let dest = destination(json!({ "path": path })).await.unwrap();
    let mut writer = dest.writer(0).await.unwrap();
    writer.load(ids(&[1])).await.unwrap();
    // The run fails mid-way: no finish, abort instead.
    dest.abort().await.unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "previous run\n");
    assert_eq!(entries(dir.path()), ["out.jsonl"]);
}

#[tokio::test]
async fn commit_refuses_an_unfinished_writer() {
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(json!({ "path": dir.path().join("a.parquet") }))
        .await
        .unwrap();
    let mut writer = dest.writer(0).await.unwrap();
    writer.load(ids(&[1])).await.unwrap();
    let err = dest.commit().await.unwrap_err();
    assert!(err.to_string().contains("has not finished"), "{err}");
    dest.abort().await.unwrap();
    assert_eq!(entries(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn a_batch_with_other_columns_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.parquet");
    let dest = destination(json!({ "path": path })).await.unwrap();
    let mut writer = dest.writer(0).await.unwrap();
    writer.load(ids(&[1])).await.unwrap();
    let other =
        RecordBatch::try_from_iter([("id", Arc::new(StringArray::from(vec!["1"])) as _)]).unwrap();
    let err = writer.load(other).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Schema { path: p, .. } if *p == path),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("expected `id`: Int64 (not null), found `id`: Utf8 (not null)"),
        "{err}"
    );
    dest.abort().await.unwrap();
}

#[tokio::test]
async fn each_worker_writes_its_own_file() {
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("part-{worker}.parquet");
    let dest = destination(json!({ "path": pattern, "concurrency": 2, "row_group_size": 2 }))
        .await
        .unwrap();
    assert_eq!(dest.workers(), 2);
    assert_eq!(dest.target_id(), pattern.display().to_string());
    for worker in 0..2 {
        let mut writer = dest.writer(worker).await.unwrap();
        writer.load(ids(&[worker as i64; 5])).await.unwrap();
        writer.finish().await.unwrap();
    }
    dest.commit().await.unwrap();
    assert_eq!(entries(dir.path()), ["part-0.parquet", "part-1.parquet"]);
    let file = std::fs::File::open(dir.path().join("part-1.parquet")).unwrap();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    assert_eq!(
        reader.metadata().num_row_groups(),
        3,
        "row_group_size 2 over 5 rows"
    );
    let batches: Vec<RecordBatch> = reader.build().unwrap().map(|b| b.unwrap()).collect();
    assert_eq!(batches, [ids(&[1; 5])]);
}

#[tokio::test]
async fn config_is_checked_before_writing() {
    for (config, key, words) in [
        (
            json!({ "path": "out.parquet", "concurrency": 2 }),
            "target.file.path",
            "{worker}",
        ),
        (
            json!({ "path": "out.parquet", "concurrency": 0 }),
            "target.file.concurrency",
            "at least 1",
        ),
        (
            json!({ "path": "out.csv", "compression": "zstd" }),
            "target.file.compression",
            "parquet output only",
        ),
        (
            json!({ "path": "out.csv", "row_group_size": 10 }),
            "target.file.row_group_size",
            "parquet output only",
        ),
        (
            json!({ "path": "out.parquet", "compression": "brotli" }),
            "target.file.compression",
            "unknown variant",
        ),
        (
            json!({ "path": "out.dat" }),
            "target.file.format",
            "'out.dat'",
        ),
        (
            json!({ "path": "out/" , "format": "csv" }),
            "target.file.path",
            "does not name a file",
        ),
    ] {
        let err = destination(config.clone()).await.err().expect("rejected");
        assert!(
            matches!(&err, ConnectorError::Config { path, .. } if path == key),
            "{config}: {err}"
        );
        assert!(err.to_string().contains(words), "{config}: {err}");
    }
}

#[tokio::test]
async fn no_batch_at_all() {
    let dir = tempfile::tempdir().unwrap();
    // CSV: the file is replaced by an empty one.
    let csv = dir.path().join("out.csv");
    std::fs::write(&csv, "old\n").unwrap();
    let dest = destination(json!({ "path": csv })).await.unwrap();
    dest.writer(0).await.unwrap().finish().await.unwrap();
    dest.commit().await.unwrap();
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), "");

    // Parquet: no schema to write; the previous file stays, no temp file is left.
    let parquet = dir.path().join("out.parquet");
    std::fs::write(&parquet, "old").unwrap();
    let dest = destination(json!({ "path": parquet })).await.unwrap();
    dest.writer(0).await.unwrap().finish().await.unwrap();
    dest.commit().await.unwrap();
    assert_eq!(std::fs::read_to_string(&parquet).unwrap(), "old");
    assert_eq!(entries(dir.path()), ["out.csv", "out.parquet"]);
}
