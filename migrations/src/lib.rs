//! Schema migrations of the fastlane monitoring service, applied by `fastlane serve` on start.
//!
//! The same migrations run on SQLite (the zero-setup default) and PostgreSQL. Times are stored as
//! milliseconds since the Unix epoch (`BIGINT`): one representation that sorts and compares the
//! same way on both backends.

mod m20261122_000001_monitoring;
mod m20261207_000001_transform_version;

use sea_orm_migration::prelude::*;
pub use sea_orm_migration::MigratorTrait;

/// Every migration, oldest first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_monitoring::Migration),
            Box::new(m20261207_000001_transform_version::Migration),
        ]
    }

    fn migration_table_name() -> DynIden {
        "fastlane_migrations".into_iden()
    }
}
