//! The sink task. `put` writes the whole batch in one transaction before it returns (so the offsets
//! the runtime commits after it never pass an unwritten row) and keeps nothing buffered:
//!
//! * rows the database refuses (a constraint, a value the column cannot take) are errant: to the
//!   errant record reporter (DLQ) with the table, column and SQLSTATE, never the value; without a
//!   reporter, the task fails;
//! * a lost connection, a deadlock or a server shutting down rolls the transaction back; the batch
//!   is written again on a new connection after `retry.backoff.ms`, up to `max.retries` times, then
//!   the task fails (as Kafka Connect's JDBC sink);
//! * bad credentials, a missing table without `auto.create`, a missing column without
//!   `auto.evolve` fail the task at once, naming the key to change.

use std::sync::Arc;

use connect_core::async_trait;
use connect_core::error::ConnectError;
use connect_core::record::SinkRecord;
use connect_core::runtime::ErrantRecordReporter;
use connect_core::sink::{SinkTask, SinkTaskContext};

use super::config::JdbcSinkConfig;
use super::conn::{Conn, DbError};
use super::writer::Writer;

struct State {
    cfg: JdbcSinkConfig,
    writer: Writer,
    conn: Option<Conn>,
    reporter: Option<Arc<ErrantRecordReporter>>,
    name: String,
}

/// A JDBC sink task.
#[derive(Default)]
pub struct JdbcSinkTask {
    state: Option<State>,
}

/// A connection: the open one, or a new one after up to `connection.attempts` tries.
async fn connection<'a>(
    slot: &'a mut Option<Conn>,
    cfg: &JdbcSinkConfig,
    name: &str,
) -> Result<&'a mut Conn, DbError> {
    if slot.is_none() {
        let mut attempt = 0;
        let conn = loop {
            attempt += 1;
            match Conn::open(cfg).await {
                Ok(c) => break c,
                Err(DbError::Retriable(m)) if attempt < cfg.connection_attempts => {
                    tracing::warn!(connector = %name, attempt, error = %m, "connecting failed; trying again after connection.backoff.ms");
                    tokio::time::sleep(cfg.connection_backoff).await;
                }
                Err(e) => return Err(e),
            }
        };
        *slot = Some(conn);
    }
    slot.as_mut()
        .ok_or_else(|| DbError::Fatal("internal: no connection".into()))
}

#[async_trait]
impl SinkTask for JdbcSinkTask {
    async fn start(&mut self, context: SinkTaskContext) -> Result<(), ConnectError> {
        let cfg = JdbcSinkConfig::parse(&context.config)?;
        self.state = Some(State {
            writer: Writer::new(&cfg),
            cfg,
            conn: None,
            reporter: context.errant_record_reporter,
            name: context.config.get("name").unwrap_or("jdbc-sink").to_owned(),
        });
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        let st = self
            .state
            .as_mut()
            .ok_or_else(|| ConnectError::other("put before start"))?;
        if records.is_empty() {
            return Ok(());
        }
        let include_messages = st.reporter.as_ref().is_some_and(|r| r.includes_messages());
        let mut retries = 0u32;
        let errant = loop {
            let outcome = match connection(&mut st.conn, &st.cfg, &st.name).await {
                Ok(conn) => {
                    st.writer
                        .write(&st.cfg, conn, records, include_messages)
                        .await
                }
                Err(e) => Err(e),
            };
            match outcome {
                Ok(errant) => break errant,
                Err(DbError::Retriable(m)) => {
                    // The connection may be broken; tables may have changed.
                    if let Some(c) = st.conn.take() {
                        c.close().await;
                    }
                    st.writer.forget_tables();
                    if retries >= st.cfg.max_retries {
                        return Err(ConnectError::other(format!(
                            "{m}; gave up after max.retries={} retries",
                            st.cfg.max_retries
                        )));
                    }
                    retries += 1;
                    tracing::warn!(connector = %st.name, retry = retries, error = %m, "writing the batch failed; retrying after retry.backoff.ms");
                    tokio::time::sleep(st.cfg.retry_backoff).await;
                }
                Err(DbError::Record(m)) | Err(DbError::Fatal(m)) => {
                    st.writer.forget_tables();
                    return Err(ConnectError::other(m));
                }
            }
        };
        for e in errant {
            let record = &records[e.record];
            match &st.reporter {
                Some(r) => r.report(record, &ConnectError::other(&e.reason)).await?,
                None => {
                    return Err(ConnectError::other(format!(
                        "record {} not written: {}",
                        record.original, e.reason
                    )))
                }
            }
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        if let Some(st) = self.state.as_mut() {
            if let Some(c) = st.conn.take() {
                c.close().await;
            }
        }
        Ok(())
    }
}
