//! A pipeline: a source, a target and the config that joins them.

use sea_orm::entity::prelude::*;

/// A row of `pipelines`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pipelines")]
pub struct Model {
    /// `{source}-{target}-{target_id}`, as the runner derives it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Source connector type.
    pub source_type: String,
    /// Target connector type.
    pub target_type: String,
    /// The target's own id (e.g. `db.table`, `bucket/prefix`).
    pub target_id: String,
    /// The pipeline config as JSON text, secrets redacted.
    pub config: String,
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// Milliseconds since the Unix epoch.
    pub updated_at_ms: i64,
}

/// Links of `pipelines`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// A pipeline's runs.
    #[sea_orm(has_many = "super::run::Entity")]
    Runs,
}

impl Related<super::run::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Runs.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
