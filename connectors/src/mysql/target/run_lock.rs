//! The run's hold on its table: the advisory lock `GET_LOCK('fastlane:db.table')`, owned by one
//! control connection for the whole run.
//!
//! The lock lives exactly as long as that connection, so the connection is kept alive: pinged
//! more often than the server or the network would drop it idle. If it is lost anyway, a new
//! connection takes the lock again — and the run goes on only if no other run took it meanwhile
//! and the run's staging table is still there (another run would have dropped it as a leftover).
//! Otherwise the run is marked as having lost its lock, and it fails before it commits: two runs
//! never both load one table.

use std::sync::Mutex as SyncMutex;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tokio::sync::Mutex;

use super::config::SECTION;
use super::table;
use crate::mysql::Endpoint;
use crate::{ConnectorError, Result};

/// The run's lock and the connection holding it.
pub(super) struct RunLock {
    endpoint: Endpoint,
    /// The lock's name.
    name: String,
    /// `db.table`, for messages.
    table_name: String,
    /// The table (in the endpoint's db) that must still exist for the run to go on after its
    /// connection was lost: the staging table of a FULL_TABLE run, once it exists.
    stage: SyncMutex<Option<String>>,
    conn: Mutex<Conn>,
    /// Why the run no longer holds its lock, once it does not.
    lost: SyncMutex<Option<String>>,
}

impl RunLock {
    /// Connect and take the lock on `table`, or say that another run holds it.
    pub(super) async fn acquire(endpoint: &Endpoint, table: &str) -> Result<Self> {
        let mut conn = endpoint.connect(true).await?;
        table::lock(&mut conn, endpoint, table).await?;
        Ok(Self {
            endpoint: endpoint.clone(),
            name: table::lock_name(&endpoint.db, table),
            table_name: format!("{}.{table}", endpoint.db),
            stage: SyncMutex::new(None),
            conn: Mutex::new(conn),
            lost: SyncMutex::new(None),
        })
    }

    /// From now on, after a lost connection the run may go on only if `stage` still exists.
    pub(super) fn guard_stage(&self, stage: String) {
        *self.stage.lock().unwrap_or_else(|e| e.into_inner()) = Some(stage);
    }

    /// The connection holding the lock, for the run's DDL and queries: checked with a ping
    /// first, and replaced as [`RunLock::verify`] does if it is gone.
    pub(super) async fn conn(&self) -> Result<tokio::sync::MutexGuard<'_, Conn>> {
        self.check()?;
        let mut conn = self.conn.lock().await;
        if let Err(e) = conn.ping().await {
            self.recover(&mut conn, &e.to_string()).await;
        }
        self.check()?;
        Ok(conn)
    }

    /// An error if the run has lost its lock.
    pub(super) fn check(&self) -> Result<()> {
        match self.lost.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            None => Ok(()),
            Some(why) => Err(ConnectorError::Other(format!(
                "{SECTION}: the run lost its lock on `{}` ({why}); nothing of it is committed — run it again",
                self.table_name
            ))),
        }
    }

    fn mark_lost(&self, why: String) {
        let mut lost = self.lost.lock().unwrap_or_else(|e| e.into_inner());
        if lost.is_none() {
            tracing::error!(
                "{SECTION}: lost the run's lock on `{}`: {why}",
                self.table_name
            );
            *lost = Some(why);
        }
    }

    /// Make sure the run still holds the lock (taking it again on a new connection if the
    /// old one was lost and nothing else happened meanwhile): what every commit checks first.
    pub(super) async fn verify(&self) -> Result<()> {
        self.check()?;
        let mut conn = self.conn.lock().await;
        let holder: std::result::Result<Option<Option<i64>>, _> = conn
            .exec_first("SELECT IS_USED_LOCK(?) = CONNECTION_ID()", (&self.name,))
            .await;
        match holder {
            Ok(Some(Some(1))) => Ok(()),
            Ok(_) => {
                self.mark_lost(format!(
                    "lock `{}` is no longer held by this run",
                    self.name
                ));
                self.check()
            }
            Err(e) if crate::mysql::connection_lost(&e) => {
                self.recover(&mut conn, &e.to_string()).await;
                self.check()
            }
            Err(e) => Err(self.endpoint.error("checking the run's lock", e)),
        }
    }

    /// Ping the lock's connection every `every` until the returned task is aborted; a lost
    /// connection is replaced (see the module doc).
    pub(super) fn keep_alive(self: &std::sync::Arc<Self>, every: Duration) -> KeepAlive {
        let lock = std::sync::Arc::downgrade(self);
        KeepAlive(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(lock) = lock.upgrade() else { return };
                if lock.check().is_err() {
                    return;
                }
                // Busy means in use, so not idle.
                let Ok(mut conn) = lock.conn.try_lock() else {
                    continue;
                };
                if let Err(e) = conn.ping().await {
                    lock.recover(&mut conn, &e.to_string()).await;
                }
            }
        }))
    }

    /// The connection is gone: take the lock again on a new one, if the run can still go on.
    async fn recover(&self, conn: &mut Conn, cause: &str) {
        tracing::warn!(
            "{SECTION}: the connection holding the run's lock on `{}` was lost ({cause}); taking the lock again",
            self.table_name
        );
        let mut fresh = match self.endpoint.connect(true).await {
            Ok(fresh) => fresh,
            Err(e) => {
                return self.mark_lost(format!(
                    "its connection was lost ({cause}) and a new one failed: {e}"
                ))
            }
        };
        let got: std::result::Result<Option<Option<i64>>, _> = fresh
            .exec_first("SELECT GET_LOCK(?, 0)", (&self.name,))
            .await;
        if !matches!(got, Ok(Some(Some(1)))) {
            return self.mark_lost(format!(
                "its connection was lost ({cause}) and another run took lock `{}` meanwhile",
                self.name
            ));
        }
        let stage = self.stage.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(stage) = &stage {
            match table::columns(&mut fresh, &self.endpoint, stage).await {
                Ok(Some(_)) => {}
                _ => {
                    let _ = fresh
                        .exec_drop("SELECT RELEASE_LOCK(?)", (&self.name,))
                        .await;
                    return self.mark_lost(format!(
                        "its connection was lost ({cause}) and its staging table `{stage}` is gone (another run ran meanwhile)"
                    ));
                }
            }
        }
        tracing::info!(
            "{SECTION}: holding the run's lock on `{}` again",
            self.table_name
        );
        *conn = fresh;
    }

    /// Let go of the lock (best effort: ending the connection releases it too).
    pub(super) async fn release(&self) {
        let mut conn = self.conn.lock().await;
        let _ = conn
            .exec_drop("SELECT RELEASE_LOCK(?)", (&self.name,))
            .await;
    }
}

/// The keepalive task of a lock, stopped when dropped.
pub(super) struct KeepAlive(tokio::task::JoinHandle<()>);

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.0.abort();
    }
}
