//! Targets: connectors that load record batches.

#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "firehose")]
pub mod firehose;
#[cfg(feature = "influxdb")]
pub mod influxdb;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "s3")]
pub mod s3;

/// What the targets' tests share.
#[cfg(test)]
pub(crate) mod test_util {
    use arrow::record_batch::RecordBatch;

    use crate::Destination;

    /// Load `batches` round-robin through every writer of `dest` and finish them (no commit).
    pub(crate) async fn load(dest: &dyn Destination, batches: Vec<RecordBatch>) {
        let mut writers = Vec::new();
        for i in 0..dest.workers() {
            writers.push(dest.writer(i).await.unwrap());
        }
        let count = writers.len();
        for (i, batch) in batches.into_iter().enumerate() {
            writers[i % count].load(batch).await.unwrap();
        }
        for mut w in writers {
            w.finish().await.unwrap();
        }
    }
}
