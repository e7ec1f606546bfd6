//! One execution of a pipeline.

use sea_orm::entity::prelude::*;

/// A row of `runs`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "runs")]
pub struct Model {
    /// The runner's UUID for the run.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The pipeline it belongs to.
    pub pipeline_id: String,
    /// `running`, `completed`, `failed` or `exited`.
    pub status: String,
    /// Milliseconds since the Unix epoch.
    pub started_at_ms: i64,
    /// Milliseconds since the Unix epoch, once finished.
    pub finished_at_ms: Option<i64>,
    /// `FULL_TABLE` or `INCREMENTAL`.
    pub replication_mode: Option<String>,
    /// The key the run resumed after.
    pub start_offset: Option<String>,
    /// The largest key the target held when the run ended.
    pub end_offset: Option<String>,
    /// Rows read from the source.
    pub rows_extracted: i64,
    /// Rows out of the transform.
    pub rows_transformed: i64,
    /// Rows written to the target.
    pub rows_loaded: i64,
    /// Rows the transform dropped.
    pub rows_dropped: i64,
    /// Why the run failed.
    pub error: Option<String>,
    /// The transform's name (from its `describe`).
    pub transform_name: Option<String>,
    /// SHA-256 of the transform component.
    pub transform_hash: Option<String>,
    /// The transform's version (from its `describe`).
    pub transform_version: Option<String>,
    /// Milliseconds since the Unix epoch of the last change.
    pub updated_at_ms: i64,
}

/// Links of `runs`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The run's pipeline.
    #[sea_orm(
        belongs_to = "super::pipeline::Entity",
        from = "Column::PipelineId",
        to = "super::pipeline::Column::Id",
        on_delete = "Cascade"
    )]
    Pipeline,
}

impl Related<super::pipeline::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Pipeline.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
