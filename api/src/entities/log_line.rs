//! One line of a run's log.

use sea_orm::entity::prelude::*;

/// A row of `log_lines`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "log_lines")]
pub struct Model {
    /// Insertion order (what `after_id` pages on).
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The run that logged it.
    pub run_id: String,
    /// The runner's number for the line (a re-sent line is stored once).
    pub seq: Option<i64>,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// 10 trace, 20 debug, 30 info, 40 warn, 50 error: a minimum-level filter is `>=`.
    pub severity: i16,
    /// `fastlane` or `transform:<name>`.
    pub origin: String,
    /// The line.
    pub message: String,
}

/// Links of `log_lines`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The run that logged it.
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
