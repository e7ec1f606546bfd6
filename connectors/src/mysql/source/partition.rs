//! Snapshots and key ranges: one connection per partition, each reading inside a consistent
//! snapshot of the table.
//!
//! With several partitions the snapshots are taken while the table is briefly read-locked
//! (`FLUSH TABLES t WITH READ LOCK`), so every partition sees the same committed state, as
//! dump tools do. Without the privileges for that lock the snapshots are taken back to back
//! (a warning says so). Integer keys are split by value between MIN and MAX (cheap); other
//! keys at row-count quantiles (an index scan per boundary).

use futures_util::future::try_join_all;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Value};

use super::config::SECTION;
use super::plan::TablePlan;
use crate::mysql::Endpoint;
use crate::Result;

/// Seconds the table lock may wait for running statements before we do without it.
const LOCK_WAIT_S: u32 = 5;

/// A key range `(lower, upper]` and the connection that reads it inside its snapshot.
pub(super) struct Partition {
    pub conn: Conn,
    pub endpoint: Endpoint,
    pub lower: Option<Value>,
    pub upper: Option<Value>,
}

/// Take the snapshot(s) and split `(after, ∞)` into up to `concurrency` partitions.
pub(super) async fn start(
    mut control: Conn,
    endpoint: &Endpoint,
    plan: &TablePlan,
    concurrency: usize,
    after: Option<Value>,
) -> Result<Vec<Partition>> {
    if concurrency == 1 {
        begin_snapshot(&mut control, endpoint).await?;
        return Ok(vec![Partition {
            conn: control,
            endpoint: endpoint.clone(),
            lower: after,
            upper: None,
        }]);
    }
    let mut others = try_join_all((1..concurrency).map(|_| endpoint.connect(false))).await?;

    let locked = match control
        .query_drop(format!("SET SESSION lock_wait_timeout = {LOCK_WAIT_S}"))
        .await
    {
        Ok(()) => control.query_drop(plan.lock_sql()).await,
        Err(e) => Err(e),
    };
    if let Err(e) = &locked {
        tracing::warn!(
            "{SECTION}: could not lock `{}` briefly to align the {concurrency} partitions' snapshots ({e}); they are taken back to back instead",
            plan.table_name
        );
    }
    begin_snapshot(&mut control, endpoint).await?;
    for conn in &mut others {
        begin_snapshot(conn, endpoint).await?;
    }
    if locked.is_ok() {
        control
            .query_drop("UNLOCK TABLES")
            .await
            .map_err(|e| endpoint.error("unlocking the table", e))?;
    }

    let uppers = if plan.key_type.is_integer() {
        split_by_value(&mut control, endpoint, plan, after.as_ref(), concurrency).await?
    } else {
        split_by_rank(&mut control, endpoint, plan, after.as_ref(), concurrency).await?
    };
    let mut conns = std::iter::once(control).chain(others);
    let mut partitions = Vec::with_capacity(uppers.len() + 1);
    let mut lower = after;
    for upper in uppers.into_iter().map(Some).chain(std::iter::once(None)) {
        let Some(conn) = conns.next() else { break };
        partitions.push(Partition {
            conn,
            endpoint: endpoint.clone(),
            lower: lower.clone(),
            upper: upper.clone(),
        });
        lower = upper;
    }
    Ok(partitions)
}

/// Start a read-only transaction on a consistent snapshot.
async fn begin_snapshot(conn: &mut Conn, endpoint: &Endpoint) -> Result<()> {
    conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .await
        .map_err(|e| endpoint.error("setting the isolation level", e))?;
    conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        .await
        .map_err(|e| endpoint.error("starting a consistent snapshot", e))
}

fn range_params(after: Option<&Value>) -> Params {
    match after {
        Some(v) => Params::Positional(vec![v.clone()]),
        None => Params::Empty,
    }
}

/// Upper bounds splitting an integer key's `[MIN, MAX]` into `parts` equal value ranges.
async fn split_by_value(
    conn: &mut Conn,
    endpoint: &Endpoint,
    plan: &TablePlan,
    after: Option<&Value>,
    parts: usize,
) -> Result<Vec<Value>> {
    let sql = plan.aggregate_sql(
        &format!("MIN({0}), MAX({0})", plan.key_sql),
        after.is_some(),
    );
    let bounds: Option<(Value, Value)> =
        conn.exec_first(sql, range_params(after))
            .await
            .map_err(|e| {
                endpoint.error(
                    &format!("reading the key range of `{}`", plan.table_name),
                    e,
                )
            })?;
    let Some((Some(lo), Some(hi))) = bounds.map(|(lo, hi)| (as_i128(&lo), as_i128(&hi))) else {
        return Ok(Vec::new());
    };
    Ok(value_bounds(lo, hi, parts)
        .into_iter()
        .map(|b| {
            if plan.key_type.is_signed_integer() {
                Value::Int(b as i64)
            } else {
                Value::UInt(b as u64)
            }
        })
        .collect())
}

/// Inclusive upper bounds of the first `parts - 1` of `parts` equal ranges of `[lo, hi]`.
fn value_bounds(lo: i128, hi: i128, parts: usize) -> Vec<i128> {
    if hi <= lo {
        return Vec::new();
    }
    let parts = parts as i128;
    let step = ((hi - lo + 1) + parts - 1) / parts;
    (1..parts)
        .map(|i| lo + step * i - 1)
        .filter(|b| *b < hi)
        .collect()
}

fn as_i128(v: &Value) -> Option<i128> {
    match v {
        Value::Int(i) => Some(*i as i128),
        Value::UInt(u) => Some(*u as i128),
        Value::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

/// Upper bounds at the row-count quantiles of the key range (any key type).
async fn split_by_rank(
    conn: &mut Conn,
    endpoint: &Endpoint,
    plan: &TablePlan,
    after: Option<&Value>,
    parts: usize,
) -> Result<Vec<Value>> {
    let failed = |e| {
        endpoint.error(
            &format!("splitting the key range of `{}`", plan.table_name),
            e,
        )
    };
    let count: Option<u64> = conn
        .exec_first(
            plan.aggregate_sql("COUNT(*)", after.is_some()),
            range_params(after),
        )
        .await
        .map_err(failed)?;
    let count = count.unwrap_or(0);
    let key_at = plan.key_at_sql(after.is_some());
    let mut bounds: Vec<Value> = Vec::new();
    for i in 1..parts as u64 {
        let rank = count * i / parts as u64;
        if rank == 0 {
            continue;
        }
        let mut params: Vec<Value> = after.into_iter().cloned().collect();
        params.push(Value::UInt(rank - 1));
        let key: Option<Value> = conn
            .exec_first(key_at.as_str(), Params::Positional(params))
            .await
            .map_err(failed)?;
        if let Some(key) = key {
            if bounds.last() != Some(&key) {
                bounds.push(key);
            }
        }
    }
    Ok(bounds)
}

#[cfg(test)]
mod tests {
    use super::value_bounds;

    #[test]
    fn value_ranges_cover_the_key_range_without_overlap() {
        assert_eq!(value_bounds(1, 100, 4), vec![25, 50, 75]);
        assert_eq!(value_bounds(1, 10, 3), vec![4, 8]);
        assert_eq!(value_bounds(5, 5, 4), Vec::<i128>::new());
        assert_eq!(value_bounds(1, 2, 4), vec![1]);
        let max = u64::MAX as i128;
        assert_eq!(value_bounds(0, max, 2), vec![max / 2]);
        assert_eq!(
            value_bounds(i64::MIN as i128, i64::MAX as i128, 2),
            vec![-1]
        );
    }
}
