//! One partition's reader: keyset pages in key order, each decoded into one record batch.

use std::sync::Arc;

use mysql_async::prelude::Queryable;
use mysql_async::{Params, Value};
use tokio::sync::mpsc;

use super::config::SECTION;
use super::decode::BatchDecoder;
use super::partition::Partition;
use super::plan::TablePlan;
use super::Page;
use crate::{ConnectorError, Result};

/// Read the partition page by page into `pages`; an error is delivered as the last page.
pub(super) async fn run(partition: Partition, plan: Arc<TablePlan>, pages: mpsc::Sender<Page>) {
    if let Err(e) = read(partition, &plan, &pages).await {
        let _ = pages.send(Err(e)).await;
    }
}

async fn read(partition: Partition, plan: &TablePlan, pages: &mpsc::Sender<Page>) -> Result<()> {
    let Partition {
        mut conn,
        endpoint,
        mut lower,
        upper,
    } = partition;
    let reading = format!("reading `{}`", plan.table_name);
    let first_page = conn
        .prep(plan.page_sql(lower.is_some(), upper.is_some()))
        .await
        .map_err(|e| endpoint.error(&reading, e))?;
    let next_page = conn
        .prep(plan.page_sql(true, upper.is_some()))
        .await
        .map_err(|e| endpoint.error(&reading, e))?;
    let mut decoder = BatchDecoder::new(plan.schema.clone(), plan.key_index, plan.batch_size)
        .map_err(|e| in_table(plan, e))?;
    let key = plan.key_index;
    loop {
        let statement = if lower.is_some() {
            &next_page
        } else {
            &first_page
        };
        let params: Vec<Value> = lower.iter().chain(upper.iter()).cloned().collect();
        let params = if params.is_empty() {
            Params::Empty
        } else {
            Params::Positional(params)
        };
        let mut rows = conn
            .exec_iter(statement, params)
            .await
            .map_err(|e| endpoint.error(&reading, e))?;
        // The last row is held back so its key can be kept without cloning every row's key.
        let mut held: Option<Vec<Option<Value>>> = None;
        while let Some(row) = rows.next().await.map_err(|e| endpoint.error(&reading, e))? {
            let values = row.unwrap_raw();
            if matches!(values.get(key), None | Some(None) | Some(Some(Value::NULL))) {
                return Err(ConnectorError::Other(format!(
                    "{SECTION}: `{}`: the key column {} holds NULL; the key must be a NOT NULL unique column",
                    plan.table_name, plan.key_sql
                )));
            }
            if let Some(previous) = held.replace(values) {
                decoder.push_row(previous).map_err(|e| in_table(plan, e))?;
            }
        }
        drop(rows);
        if let Some(last) = held {
            lower = last[key].clone();
            decoder.push_row(last).map_err(|e| in_table(plan, e))?;
        }
        let rows_read = decoder.len();
        let batch = decoder.finish().map_err(|e| in_table(plan, e))?;
        if rows_read > 0 && pages.send(Ok(batch)).await.is_err() {
            // The pipeline stopped reading: nothing more to do.
            return Ok(());
        }
        if rows_read < plan.batch_size {
            break;
        }
    }
    conn.query_drop("COMMIT")
        .await
        .map_err(|e| endpoint.error("ending the snapshot", e))?;
    let _ = conn.disconnect().await;
    Ok(())
}

fn in_table(plan: &TablePlan, e: ConnectorError) -> ConnectorError {
    ConnectorError::Other(format!("{SECTION}: `{}`: {e}", plan.table_name))
}
