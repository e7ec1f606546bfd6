//! Pipelines, their runs, and each run's metric samples and log lines.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Pipelines {
    Table,
    Id,
    SourceType,
    TargetType,
    TargetId,
    Config,
    CreatedAtMs,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum Runs {
    Table,
    Id,
    PipelineId,
    Status,
    StartedAtMs,
    FinishedAtMs,
    ReplicationMode,
    StartOffset,
    EndOffset,
    RowsExtracted,
    RowsTransformed,
    RowsLoaded,
    RowsDropped,
    Error,
    TransformName,
    TransformHash,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum MetricSamples {
    Table,
    Id,
    RunId,
    AtMs,
    RowsExtracted,
    RowsTransformed,
    RowsLoaded,
    ExtractRowsPerS,
    TransformRowsPerS,
    LoadRowsPerS,
    ExtractBytesPerS,
    RssBytes,
    QueueToTransform,
    QueueToTarget,
    WasmMsPerBatch,
}

#[derive(DeriveIden)]
enum LogLines {
    Table,
    Id,
    RunId,
    Seq,
    AtMs,
    Severity,
    Origin,
    Message,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Pipelines::Table)
                    .if_not_exists()
                    .col(string_len(Pipelines::Id, 200).primary_key())
                    .col(string_len(Pipelines::SourceType, 100))
                    .col(string_len(Pipelines::TargetType, 100))
                    .col(text(Pipelines::TargetId))
                    .col(text(Pipelines::Config))
                    .col(big_integer(Pipelines::CreatedAtMs))
                    .col(big_integer(Pipelines::UpdatedAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Runs::Table)
                    .if_not_exists()
                    .col(string_len(Runs::Id, 64).primary_key())
                    .col(string_len(Runs::PipelineId, 200))
                    .col(string_len(Runs::Status, 16))
                    .col(big_integer(Runs::StartedAtMs))
                    .col(big_integer_null(Runs::FinishedAtMs))
                    .col(string_len_null(Runs::ReplicationMode, 16))
                    .col(text_null(Runs::StartOffset))
                    .col(text_null(Runs::EndOffset))
                    .col(big_integer(Runs::RowsExtracted).default(0))
                    .col(big_integer(Runs::RowsTransformed).default(0))
                    .col(big_integer(Runs::RowsLoaded).default(0))
                    .col(big_integer(Runs::RowsDropped).default(0))
                    .col(text_null(Runs::Error))
                    .col(text_null(Runs::TransformName))
                    .col(string_len_null(Runs::TransformHash, 128))
                    .col(big_integer(Runs::UpdatedAtMs))
                    .foreign_key(&mut cascade(
                        "fk_runs_pipeline",
                        (Runs::Table, Runs::PipelineId),
                        Pipelines::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_runs_pipeline_started",
                Runs::Table,
                [Runs::PipelineId.into_iden(), Runs::StartedAtMs.into_iden()],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_runs_status",
                Runs::Table,
                [Runs::Status.into_iden()],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MetricSamples::Table)
                    .if_not_exists()
                    .col(big_pk_auto(MetricSamples::Id))
                    .col(string_len(MetricSamples::RunId, 64))
                    .col(big_integer(MetricSamples::AtMs))
                    .col(big_integer(MetricSamples::RowsExtracted))
                    .col(big_integer(MetricSamples::RowsTransformed))
                    .col(big_integer(MetricSamples::RowsLoaded))
                    .col(double(MetricSamples::ExtractRowsPerS))
                    .col(double(MetricSamples::TransformRowsPerS))
                    .col(double(MetricSamples::LoadRowsPerS))
                    .col(double(MetricSamples::ExtractBytesPerS))
                    .col(big_integer(MetricSamples::RssBytes))
                    .col(big_integer(MetricSamples::QueueToTransform))
                    .col(big_integer(MetricSamples::QueueToTarget))
                    .col(double(MetricSamples::WasmMsPerBatch))
                    .foreign_key(&mut cascade(
                        "fk_metric_samples_run",
                        (MetricSamples::Table, MetricSamples::RunId),
                        Runs::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        // A sample is identified by its run and time: a re-sent one is stored once.
        manager
            .create_index(
                index(
                    "uq_metric_samples_run_at",
                    MetricSamples::Table,
                    [
                        MetricSamples::RunId.into_iden(),
                        MetricSamples::AtMs.into_iden(),
                    ],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_metric_samples_run_id",
                MetricSamples::Table,
                [
                    MetricSamples::RunId.into_iden(),
                    MetricSamples::Id.into_iden(),
                ],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LogLines::Table)
                    .if_not_exists()
                    .col(big_pk_auto(LogLines::Id))
                    .col(string_len(LogLines::RunId, 64))
                    .col(big_integer_null(LogLines::Seq))
                    .col(big_integer(LogLines::AtMs))
                    .col(small_integer(LogLines::Severity))
                    .col(string_len(LogLines::Origin, 200))
                    .col(text(LogLines::Message))
                    .foreign_key(&mut cascade(
                        "fk_log_lines_run",
                        (LogLines::Table, LogLines::RunId),
                        Runs::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_log_lines_run_id",
                LogLines::Table,
                [LogLines::RunId.into_iden(), LogLines::Id.into_iden()],
            ))
            .await?;
        // A line the runner numbered is stored once, however often it was sent (NULLs are
        // distinct: unnumbered lines are never merged).
        manager
            .create_index(
                index(
                    "uq_log_lines_run_seq",
                    LogLines::Table,
                    [LogLines::RunId.into_iden(), LogLines::Seq.into_iden()],
                )
                .unique()
                .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            LogLines::Table.into_iden(),
            MetricSamples::Table.into_iden(),
            Runs::Table.into_iden(),
            Pipelines::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// `from` references `to`'s `id`; deleting the referenced row deletes this one.
fn cascade(
    name: &str,
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to, Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// An index on `columns` of `table`, created unless it exists.
fn index<const N: usize>(
    name: &str,
    table: impl IntoIden + 'static,
    columns: [DynIden; N],
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table).if_not_exists();
    for column in columns {
        index.col(column);
    }
    index.to_owned()
}
