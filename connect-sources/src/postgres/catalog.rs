//! The connector's ordinary (non-replication) connection: server checks, the catalog (types, captured
//! tables, their columns and keys), the publication, the slot's state, and `heartbeat.action.query`.
//!
//! Errors name the SQLSTATE and what the connector was doing, never the server's message text (which
//! can quote row values).

use std::collections::HashMap;

use connect_core::error::ConnectError;
use tokio_postgres::Client;

use super::columns::{TypeInfo, Types, SESSION_SETTINGS};
use super::config::{PostgresConfig, PublicationMode};
use super::events::{ColumnDesc, TableDesc};
use super::offsets::parse_lsn;
use crate::cdc::table::TableId;

/// A replication slot's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotState {
    /// The plugin it decodes with.
    pub plugin: String,
    /// The database it belongs to.
    pub database: String,
    /// Its confirmed flush LSN.
    pub confirmed_flush: u64,
    /// Whether a session streams from it now.
    pub active: bool,
}

/// An error of the ordinary connection, by SQLSTATE.
pub fn sql_error(cfg: &PostgresConfig, doing: &str, e: &tokio_postgres::Error) -> ConnectError {
    match e.code() {
        Some(c) if c.code() == "28P01" || c.code() == "28000" => ConnectError::other(format!(
            "authentication failed for database.user '{}' at {}:{} (SQLSTATE {}): check database.user and database.password, and database.sslmode if the server accepts only TLS",
            cfg.user,
            cfg.hostname,
            cfg.port,
            c.code()
        )),
        Some(c) if c.code() == "3D000" => ConnectError::other(format!(
            "database.dbname '{}' does not exist at {}:{}",
            cfg.dbname, cfg.hostname, cfg.port
        )),
        Some(c) if c.code() == "42501" => ConnectError::other(format!(
            "database.user '{}' lacks a privilege while {doing} (SQLSTATE 42501)",
            cfg.user
        )),
        // Admin shutdown, crash recovery, too many connections: the server comes back.
        Some(c) if c.code().starts_with("57") || c.code().starts_with("08") || c.code() == "53300" => {
            ConnectError::retriable(format!("database unavailable while {doing} (SQLSTATE {})", c.code()))
        }
        Some(c) => ConnectError::other(format!("database error while {doing} (SQLSTATE {})", c.code())),
        None if connect_core::tls::is_tls_failure(e) => ConnectError::other(format!(
            "TLS to {}:{} failed while {doing} (database.sslmode={}, database.sslrootcert, database.sslcert, database.sslkey): {}",
            cfg.hostname, cfg.port, cfg.tls.mode, connect_core::tls::with_causes(e)
        )),
        None => ConnectError::retriable(format!(
            "database {}:{} unreachable while {doing}",
            cfg.hostname, cfg.port
        )),
    }
}

/// The ordinary connection.
pub struct Catalog {
    client: Client,
    _connection: tokio::task::JoinHandle<()>,
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `"schema"."table"`.
pub fn quoted(id: &TableId) -> String {
    format!("{}.{}", quote_ident(&id.db), quote_ident(&id.table))
}

impl Catalog {
    /// Connects with the session settings every text value is read under.
    pub async fn connect(cfg: &PostgresConfig) -> Result<Catalog, ConnectError> {
        let mut pg = tokio_postgres::Config::new();
        pg.host(&cfg.hostname)
            .port(cfg.port)
            .user(&cfg.user)
            .dbname(&cfg.dbname)
            .application_name("connect-rs-postgres-cdc")
            .connect_timeout(cfg.connect_timeout);
        if let Some(p) = &cfg.password {
            pg.password(p);
        }
        let tls = cfg.tls.postgres(&mut pg)?;
        let (client, connection) =
            match tokio::time::timeout(cfg.connect_timeout, pg.connect(tls)).await {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => return Err(sql_error(cfg, "connecting", &e)),
                Err(_) => {
                    return Err(ConnectError::retriable(format!(
                        "connecting to {}:{} timed out after connect.timeout.ms",
                        cfg.hostname, cfg.port
                    )))
                }
            };
        let handle = tokio::spawn(async move {
            let _ = connection.await;
        });
        let c = Catalog {
            client,
            _connection: handle,
        };
        let set: String = SESSION_SETTINGS
            .iter()
            .map(|(k, v)| format!("SET {k} = '{v}';"))
            .collect();
        c.client
            .batch_execute(&set)
            .await
            .map_err(|e| sql_error(cfg, "setting the session", &e))?;
        Ok(c)
    }

    /// The client, for the snapshot's transaction.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Checks `wal_level` and the server encoding, naming the setting that is wrong.
    pub async fn check_server(&self, cfg: &PostgresConfig) -> Result<(), ConnectError> {
        let row = self
            .client
            .query_one(
                "SELECT current_setting('wal_level'), current_setting('server_encoding')",
                &[],
            )
            .await
            .map_err(|e| sql_error(cfg, "reading server settings", &e))?;
        let wal: String = row.get(0);
        let encoding: String = row.get(1);
        if wal != "logical" {
            return Err(ConnectError::other(format!(
                "the server's wal_level is '{wal}': logical decoding needs wal_level=logical (postgresql.conf, then a restart)"
            )));
        }
        if !encoding.eq_ignore_ascii_case("UTF8") {
            return Err(ConnectError::other(format!(
                "the database's server_encoding is '{encoding}': the connector reads UTF8 databases"
            )));
        }
        Ok(())
    }

    /// Every type that is not built in (OID ≥ 10000 or an array), by OID.
    pub async fn types(&self, cfg: &PostgresConfig) -> Result<Types, ConnectError> {
        let rows = self
            .client
            .query(
                "SELECT t.oid, t.typname::text, t.typtype::text, t.typelem, t.typcategory::text, t.typbasetype, t.typtypmod,
                        COALESCE((SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '{}')
                   FROM pg_type t
                  WHERE t.typtype IN ('e', 'd') OR t.typcategory = 'A' OR t.oid >= 10000",
                &[],
            )
            .await
            .map_err(|e| sql_error(cfg, "reading the catalog's types", &e))?;
        let first = |s: String| s.bytes().next().unwrap_or(b' ');
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r.get::<_, u32>(0),
                    TypeInfo {
                        name: r.get(1),
                        kind: first(r.get(2)),
                        element: r.get(3),
                        category: first(r.get(4)),
                        base: r.get(5),
                        base_modifier: r.get(6),
                        labels: r.get(7),
                    },
                )
            })
            .collect())
    }

    /// The ordinary and partitioned tables the filters capture, with their OIDs.
    pub async fn captured_tables(
        &self,
        cfg: &PostgresConfig,
    ) -> Result<Vec<(u32, TableId)>, ConnectError> {
        let rows = self
            .client
            .query(
                "SELECT c.oid, n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
                    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
                  ORDER BY n.nspname, c.relname",
                &[],
            )
            .await
            .map_err(|e| sql_error(cfg, "listing tables", &e))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r.get::<_, u32>(0),
                    TableId::new(r.get::<_, String>(1), r.get::<_, String>(2)),
                )
            })
            .filter(|(_, id)| cfg.filters.database(&id.db) && cfg.filters.table(id))
            .collect())
    }

    /// A table's columns (as pgoutput sends them: no dropped or generated columns) and primary key
    /// (the replica identity index's columns for a table without one). None if it is gone.
    pub async fn table(
        &self,
        cfg: &PostgresConfig,
        oid: u32,
    ) -> Result<Option<TableDesc>, ConnectError> {
        let rows = self
            .client
            .query(
                "SELECT n.nspname::text, c.relname::text, a.attname::text, a.atttypid, a.atttypmod, NOT a.attnotnull,
                        COALESCE(a.attnum = ANY(k.indkey), false)
                   FROM pg_class c
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                   LEFT JOIN LATERAL (
                        SELECT i.indkey FROM pg_index i WHERE i.indrelid = c.oid AND (i.indisprimary OR i.indisreplident)
                         ORDER BY i.indisprimary DESC LIMIT 1) k ON true
                  WHERE c.oid = $1
                  ORDER BY a.attnum",
                &[&oid],
            )
            .await
            .map_err(|e| sql_error(cfg, "reading a table's columns", &e))?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let id = TableId::new(first.get::<_, String>(0), first.get::<_, String>(1));
        let mut columns = Vec::with_capacity(rows.len());
        let mut primary_key = Vec::new();
        for r in &rows {
            let name: String = r.get(2);
            if r.get::<_, bool>(6) {
                primary_key.push(name.clone());
            }
            columns.push(ColumnDesc {
                name,
                type_oid: r.get(3),
                modifier: r.get(4),
                optional: r.get(5),
            });
        }
        Ok(Some(TableDesc {
            id,
            columns,
            primary_key,
        }))
    }

    /// Makes sure the publication exists (and, `filtered`, lists exactly the captured tables).
    pub async fn ensure_publication(
        &self,
        cfg: &PostgresConfig,
        tables: &[(u32, TableId)],
    ) -> Result<(), ConnectError> {
        let exists = self
            .client
            .query_opt(
                "SELECT 1 FROM pg_publication WHERE pubname = $1",
                &[&cfg.publication_name],
            )
            .await
            .map_err(|e| sql_error(cfg, "looking up the publication", &e))?
            .is_some();
        let name = quote_ident(&cfg.publication_name);
        let list: Vec<String> = tables.iter().map(|(_, id)| quoted(id)).collect();
        let sql = match (cfg.publication_mode, exists) {
            (PublicationMode::Disabled, false) => {
                return Err(ConnectError::other(format!(
                    "publication '{}' does not exist and publication.autocreate.mode=disabled: create it (CREATE PUBLICATION … FOR TABLE …)",
                    cfg.publication_name
                )))
            }
            (_, true) if cfg.publication_mode != PublicationMode::Filtered => return Ok(()),
            (PublicationMode::AllTables, false) => format!("CREATE PUBLICATION {name} FOR ALL TABLES"),
            (_, _) if list.is_empty() => {
                return Err(ConnectError::other(
                    "publication.autocreate.mode=filtered but no table matches the include lists",
                ))
            }
            (_, false) => format!("CREATE PUBLICATION {name} FOR TABLE {}", list.join(", ")),
            (_, true) => format!("ALTER PUBLICATION {name} SET TABLE {}", list.join(", ")),
        };
        self.client
            .batch_execute(&sql)
            .await
            .map_err(|e| sql_error(cfg, "creating the publication", &e))
    }

    /// The slot's state, None when it does not exist.
    pub async fn slot(&self, cfg: &PostgresConfig) -> Result<Option<SlotState>, ConnectError> {
        let row = self
            .client
            .query_opt(
                "SELECT plugin::text, database::text, confirmed_flush_lsn::text, active FROM pg_replication_slots WHERE slot_name = $1",
                &[&cfg.slot_name],
            )
            .await
            .map_err(|e| sql_error(cfg, "reading the replication slot", &e))?;
        Ok(row.map(|r| SlotState {
            plugin: r.get::<_, Option<String>>(0).unwrap_or_default(),
            database: r.get::<_, Option<String>>(1).unwrap_or_default(),
            confirmed_flush: r
                .get::<_, Option<String>>(2)
                .and_then(|t| parse_lsn(&t))
                .unwrap_or(0),
            active: r.get(3),
        }))
    }

    /// Drops the slot (`slot.drop.on.stop`).
    pub async fn drop_slot(&self, cfg: &PostgresConfig) -> Result<(), ConnectError> {
        self.client
            .execute("SELECT pg_drop_replication_slot($1)", &[&cfg.slot_name])
            .await
            .map(|_| ())
            .map_err(|e| sql_error(cfg, "dropping the replication slot", &e))
    }

    /// Runs `heartbeat.action.query`.
    pub async fn heartbeat_action(
        &self,
        cfg: &PostgresConfig,
        sql: &str,
    ) -> Result<(), ConnectError> {
        self.client
            .batch_execute(sql)
            .await
            .map_err(|e| sql_error(cfg, "running heartbeat.action.query", &e))
    }
}

/// Relation OIDs to tables, for the tables the catalog describes.
pub type Described = HashMap<u32, TableDesc>;
