//! One sample of a run's measurements.

use sea_orm::entity::prelude::*;

/// A row of `metric_samples`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "metric_samples")]
pub struct Model {
    /// Insertion order.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The run measured.
    pub run_id: String,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Rows extracted so far.
    pub rows_extracted: i64,
    /// Rows out of the transform so far.
    pub rows_transformed: i64,
    /// Rows loaded so far.
    pub rows_loaded: i64,
    /// Rows per second extracted over the sample's interval.
    pub extract_rows_per_s: f64,
    /// Rows per second out of the transform.
    pub transform_rows_per_s: f64,
    /// Rows per second loaded.
    pub load_rows_per_s: f64,
    /// Arrow bytes per second extracted.
    pub extract_bytes_per_s: f64,
    /// Resident memory of the runner.
    pub rss_bytes: i64,
    /// Batches waiting for a transform worker.
    pub queue_to_transform: i64,
    /// Batches waiting for a target worker.
    pub queue_to_target: i64,
    /// Mean wasm time per batch over the interval.
    pub wasm_ms_per_batch: f64,
}

/// Links of `metric_samples`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The run measured.
    #[sea_orm(
        belongs_to = "super::run::Entity",
        from = "Column::RunId",
        to = "super::run::Column::Id",
        on_delete = "Cascade"
    )]
    Run,
}

impl Related<super::run::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Run.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
