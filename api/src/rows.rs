//! The stored rows behind the API's objects: each entity read back as its wire type, and the
//! rows a runner's samples and log lines become.

use std::collections::BTreeMap;

use sea_orm::ActiveValue::{NotSet, Set};
use serde_json::Value;

use crate::entities::{log_line, metric_sample, pipeline, run};
use crate::model::{
    from_millis, LogEntry, LogLevel, LogLine, MetricSample, Pipeline, PipelineSpec, Run, RunStatus,
};

impl From<pipeline::Model> for Pipeline {
    fn from(m: pipeline::Model) -> Self {
        let config = match serde_json::from_str::<Value>(&m.config) {
            Ok(Value::Object(map)) => map.into_iter().collect(),
            _ => BTreeMap::new(),
        };
        Pipeline {
            id: m.id,
            spec: PipelineSpec {
                source_type: m.source_type,
                target_type: m.target_type,
                target_id: m.target_id,
                config,
            },
            created_at: from_millis(m.created_at_ms),
            updated_at: from_millis(m.updated_at_ms),
        }
    }
}

impl From<run::Model> for Run {
    fn from(m: run::Model) -> Self {
        Run {
            status: RunStatus::parse(&m.status).unwrap_or(RunStatus::Failed),
            id: m.id,
            pipeline_id: m.pipeline_id,
            started_at: from_millis(m.started_at_ms),
            finished_at: m.finished_at_ms.map(from_millis),
            replication_mode: m.replication_mode,
            start_offset: m.start_offset,
            end_offset: m.end_offset,
            rows_extracted: m.rows_extracted,
            rows_transformed: m.rows_transformed,
            rows_loaded: m.rows_loaded,
            rows_dropped: m.rows_dropped,
            error: m.error,
            transform_name: m.transform_name,
            transform_hash: m.transform_hash,
            transform_version: m.transform_version,
        }
    }
}

impl From<metric_sample::Model> for MetricSample {
    fn from(m: metric_sample::Model) -> Self {
        MetricSample {
            at: from_millis(m.at_ms),
            rows_extracted: m.rows_extracted,
            rows_transformed: m.rows_transformed,
            rows_loaded: m.rows_loaded,
            extract_rows_per_s: m.extract_rows_per_s,
            transform_rows_per_s: m.transform_rows_per_s,
            load_rows_per_s: m.load_rows_per_s,
            extract_bytes_per_s: m.extract_bytes_per_s,
            rss_bytes: m.rss_bytes,
            queue_to_transform: m.queue_to_transform,
            queue_to_target: m.queue_to_target,
            wasm_ms_per_batch: m.wasm_ms_per_batch,
        }
    }
}

impl From<log_line::Model> for LogEntry {
    fn from(m: log_line::Model) -> Self {
        LogEntry {
            id: m.id,
            line: LogLine {
                seq: m.seq,
                at: from_millis(m.at_ms),
                level: LogLevel::from_severity(m.severity),
                origin: m.origin,
                message: m.message,
            },
        }
    }
}

/// The row a sample of run `run_id` is stored as.
pub(crate) fn sample_row(s: &MetricSample, run_id: &str) -> metric_sample::ActiveModel {
    metric_sample::ActiveModel {
        id: NotSet,
        run_id: Set(run_id.to_string()),
        at_ms: Set(s.at.timestamp_millis()),
        rows_extracted: Set(s.rows_extracted),
        rows_transformed: Set(s.rows_transformed),
        rows_loaded: Set(s.rows_loaded),
        extract_rows_per_s: Set(s.extract_rows_per_s),
        transform_rows_per_s: Set(s.transform_rows_per_s),
        load_rows_per_s: Set(s.load_rows_per_s),
        extract_bytes_per_s: Set(s.extract_bytes_per_s),
        rss_bytes: Set(s.rss_bytes),
        queue_to_transform: Set(s.queue_to_transform),
        queue_to_target: Set(s.queue_to_target),
        wasm_ms_per_batch: Set(s.wasm_ms_per_batch),
    }
}

/// The row a log line of run `run_id` is stored as: its text redacted.
pub(crate) fn log_row(l: &LogLine, run_id: &str) -> log_line::ActiveModel {
    log_line::ActiveModel {
        id: NotSet,
        run_id: Set(run_id.to_string()),
        seq: Set(l.seq),
        at_ms: Set(l.at.timestamp_millis()),
        severity: Set(l.level.severity()),
        origin: Set(crate::stored_text(&l.origin)),
        message: Set(crate::stored_text(&l.message)),
    }
}
