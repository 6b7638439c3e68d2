//! A connection to the database (tokio-postgres or mysql_async), the few things the sink asks of
//! it, and what its errors mean: the record's fault, worth a retry, or the task's end.

use std::collections::HashMap;
use std::time::Duration;

use super::config::JdbcSinkConfig;
use super::schema::{ColumnInfo, TableId, TableInfo};
use super::url::DialectKind;
use crate::zone::{format_offset, Zone};

/// What a failed statement means for the sink.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    /// The rows' fault (a constraint, a value the column cannot take): those records are errant.
    #[error("{0}")]
    Record(String),
    /// Transient (a lost connection, a deadlock, a server shutting down): the batch is retried.
    #[error("{0}")]
    Retriable(String),
    /// Neither: the task fails (bad credentials, a missing table, no unique key for an upsert).
    #[error("{0}")]
    Fatal(String),
}

/// An open connection.
pub enum Conn {
    /// PostgreSQL.
    Postgres(Box<PgConn>),
    /// MariaDB or MySQL.
    MySql(mysql_async::Conn),
}

/// A PostgreSQL connection and the statements prepared on it.
pub struct PgConn {
    /// The client.
    client: tokio_postgres::Client,
    /// Prepared statements by SQL text.
    statements: HashMap<String, tokio_postgres::Statement>,
    /// The task that drives the connection, ended with it.
    _driver: AbortOnDrop,
}

/// A spawned task that ends when this is dropped.
pub struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The SQLSTATE condition names the sink's messages use for the classes it reports.
fn pg_condition(code: &str) -> &'static str {
    match code {
        "23505" => "unique_violation",
        "23503" => "foreign_key_violation",
        "23502" => "not_null_violation",
        "23514" => "check_violation",
        "22001" => "string_data_right_truncation",
        "22003" => "numeric_value_out_of_range",
        "22007" => "invalid_datetime_format",
        "22008" => "datetime_field_overflow",
        "22P02" => "invalid_text_representation",
        "22P05" => "untranslatable_character",
        "22021" => "character_not_in_repertoire",
        "42804" => "datatype_mismatch",
        "42P10" => "invalid_column_reference",
        "42P01" => "undefined_table",
        "42703" => "undefined_column",
        "40001" => "serialization_failure",
        "40P01" => "deadlock_detected",
        _ => "",
    }
}

/// Classifies a PostgreSQL error. The server's message (which can quote a value) is added only
/// when `include_messages`.
pub fn classify_pg(e: &tokio_postgres::Error, table: &TableId, include_messages: bool) -> DbError {
    let Some(db) = e.as_db_error() else {
        // No server answer: the connection broke, or the client failed to send.
        return DbError::Retriable(format!(
            "connection to PostgreSQL lost while writing to {table}"
        ));
    };
    let code = db.code().code();
    let mut msg = format!("table {table}: SQLSTATE {code}");
    let cond = pg_condition(code);
    if !cond.is_empty() {
        let _ = std::fmt::Write::write_fmt(&mut msg, format_args!(" ({cond})"));
    }
    if let Some(c) = db.column() {
        msg.push_str(", column ");
        msg.push_str(c);
    }
    if let Some(c) = db.constraint() {
        msg.push_str(", constraint ");
        msg.push_str(c);
    }
    if include_messages {
        msg.push_str(": ");
        msg.push_str(db.message());
    }
    match &code[..2] {
        "23" | "22" => DbError::Record(msg),
        "42" if code == "42804" => DbError::Record(msg),
        "40" | "53" | "57" | "08" | "55" => DbError::Retriable(msg),
        // The table changed under the sink (dropped or altered elsewhere): its description is
        // read again on the retry, which creates or evolves it, or fails naming what is missing.
        _ if code == "42P01" || code == "42703" => DbError::Retriable(msg),
        "28" => DbError::Fatal(format!(
            "{msg}: authentication failed (check connection.user and connection.password)"
        )),
        _ if code == "42P10" => DbError::Fatal(format!(
            "{msg}: an upsert needs a primary key or unique constraint on the pk.fields columns"
        )),
        _ => DbError::Fatal(msg),
    }
}

/// The column a MariaDB/MySQL message names (`for column 'x'`, `` column `db`.`t`.`x` ``), if
/// any: the name is schema, not data. The last mention is taken, since a quoted value comes before
/// it in the messages that quote one.
fn mysql_column(message: &str) -> Option<String> {
    let i = message.rfind("column ").max(message.rfind("Column "))?;
    let rest = &message[i + "column ".len()..];
    if !rest.starts_with(['\'', '`']) {
        return None;
    }
    let token = rest.split(' ').next()?;
    let name = token.rsplit('.').next()?.trim_matches(['\'', '`']);
    (!name.is_empty()).then(|| name.to_owned())
}

/// Classifies a MariaDB/MySQL error, as [`classify_pg`].
pub fn classify_mysql(e: &mysql_async::Error, table: &TableId, include_messages: bool) -> DbError {
    match e {
        mysql_async::Error::Server(s) => {
            let mut msg = format!("table {table}: error {} (SQLSTATE {})", s.code, s.state);
            if let Some(c) = mysql_column(&s.message) {
                msg.push_str(", column ");
                msg.push_str(&c);
            }
            if include_messages {
                msg.push_str(": ");
                msg.push_str(&s.message);
            }
            match s.code {
                // Duplicate key, null into NOT NULL, out of range, truncation, bad values, foreign
                // keys, invalid JSON, CHECK constraints.
                1048 | 1062 | 1264 | 1265 | 1292 | 1366 | 1367 | 1406 | 1411 | 1451 | 1452
                | 1690 | 3140 | 3819 | 4025 | 4078 => DbError::Record(msg),
                // Deadlock, lock wait timeout, too many connections, shutdown, killed, read only.
                1205 | 1213 | 1040 | 1053 | 1927 | 1290 | 1836 => DbError::Retriable(msg),
                // No such table or column: the table changed under the sink (see classify_pg).
                1146 | 1054 => DbError::Retriable(msg),
                1044 | 1045 | 1698 => DbError::Fatal(format!(
                    "{msg}: access denied (check connection.user and connection.password)"
                )),
                _ => DbError::Fatal(msg),
            }
        }
        mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => DbError::Retriable(format!(
            "connection to MariaDB/MySQL lost while writing to {table}"
        )),
        other => DbError::Fatal(format!("table {table}: {}", kind_only(other))),
    }
}

/// An error's kind without its text (which may quote a statement's values).
fn kind_only(e: &mysql_async::Error) -> &'static str {
    match e {
        mysql_async::Error::Url(_) => "bad connection settings",
        mysql_async::Error::Other(_) => "client error",
        _ => "database error",
    }
}

/// The `time_zone` of a MariaDB/MySQL session for `db.timezone`, as an offset in seconds: a fixed
/// offset is the session's own; for a named zone the session is UTC, since the server knows named
/// zones only when its time zone tables are loaded, and a `TIMESTAMP` column is then sent the UTC
/// wall clock (exact, where a local time in the hour a daylight saving change repeats would not
/// be), while `DATETIME` columns get the named zone's wall clock.
pub fn mysql_session_offset(db_timezone: Zone) -> i32 {
    match db_timezone {
        Zone::Fixed(seconds) => seconds,
        Zone::Named(_) => 0,
    }
}

impl Conn {
    /// Opens a connection to the first host that answers, and sets the session's time zone (and,
    /// for PostgreSQL, `currentSchema` from the URL as the search path).
    pub async fn open(cfg: &JdbcSinkConfig) -> Result<Conn, DbError> {
        let tz = cfg.db_timezone;
        match cfg.url.dialect {
            DialectKind::Postgres => {
                let mut pc = tokio_postgres::Config::new();
                for (h, p) in &cfg.url.hosts {
                    pc.host(h).port(*p);
                }
                if !cfg.url.database.is_empty() {
                    pc.dbname(&cfg.url.database);
                }
                pc.user(cfg.user.as_deref().unwrap_or("postgres"));
                if let Some(p) = &cfg.password {
                    pc.password(p);
                }
                pc.application_name("connect-rs-jdbc-sink")
                    .connect_timeout(Duration::from_secs(30))
                    .keepalives(true);
                let tls = cfg
                    .tls
                    .postgres(&mut pc)
                    .map_err(|e| DbError::Fatal(e.to_string()))?;
                let (client, connection) = pc
                    .connect(tls)
                    .await
                    .map_err(|e| match e.as_db_error() {
                        Some(db) if db.code().code().starts_with("28") => DbError::Fatal(format!(
                            "PostgreSQL refused the login (SQLSTATE {}): check connection.user and connection.password",
                            db.code().code()
                        )),
                        Some(db) if db.code().code() == "3D000" => DbError::Fatal(
                            "PostgreSQL has no database of that name (connection.url)".into(),
                        ),
                        None if connect_core::tls::is_tls_failure(&e) => DbError::Fatal(format!(
                            "TLS to PostgreSQL failed (connection.url sslmode, sslrootcert, sslcert, sslkey): {}",
                            connect_core::tls::with_causes(&e)
                        )),
                        _ => DbError::Retriable(
                            "could not connect to PostgreSQL (connection.url)".into(),
                        ),
                    })?;
                let driver = AbortOnDrop(tokio::spawn(async move {
                    let _ = connection.await;
                }));
                // PostgreSQL knows the IANA zones itself; a fixed offset is an interval (a bare
                // '+01:00' would be read as POSIX, west-positive).
                let zone = match tz {
                    Zone::Fixed(0) => "'UTC'".to_owned(),
                    Zone::Fixed(seconds) => {
                        format!("INTERVAL '{}' HOUR TO MINUTE", format_offset(seconds))
                    }
                    Zone::Named(name) => format!("'{}'", name.name()),
                };
                let mut setup = format!("SET TIME ZONE {zone}");
                if let Some(schema) = cfg.url.param("currentSchema") {
                    let quoted: Vec<String> = schema
                        .split(',')
                        .map(|s| format!("\"{}\"", s.trim().replace('"', "\"\"")))
                        .collect();
                    setup.push_str(&format!("; SET search_path TO {}", quoted.join(", ")));
                }
                client.batch_execute(&setup).await.map_err(|_| {
                    DbError::Fatal(
                        "setting up the PostgreSQL session failed (db.timezone, currentSchema)"
                            .into(),
                    )
                })?;
                Ok(Conn::Postgres(Box::new(PgConn {
                    client,
                    statements: HashMap::new(),
                    _driver: driver,
                })))
            }
            DialectKind::MySql => {
                let ssl = cfg.tls.mysql().map_err(|e| DbError::Fatal(e.to_string()))?;
                for (h, p) in &cfg.url.hosts {
                    let mut opts = mysql_async::OptsBuilder::default()
                        .ip_or_hostname(h.clone())
                        .tcp_port(*p)
                        .user(cfg.user.clone())
                        .pass(cfg.password.clone())
                        .init(vec![format!(
                            "SET time_zone = '{}'",
                            format_offset(mysql_session_offset(tz))
                        )])
                        .prefer_socket(false);
                    if !cfg.url.database.is_empty() {
                        opts = opts.db_name(Some(cfg.url.database.clone()));
                    }
                    if let Some(ssl) = &ssl {
                        opts = opts.ssl_opts(Some(ssl.clone()));
                    }
                    connect_core::tls::ensure_default_provider();
                    match mysql_async::Conn::new(opts).await {
                        Ok(c) => return Ok(Conn::MySql(c)),
                        Err(mysql_async::Error::Server(s))
                            if matches!(s.code, 1044 | 1045 | 1698) =>
                        {
                            return Err(DbError::Fatal(format!(
                                "MariaDB/MySQL refused the login (error {}): check connection.user and connection.password, and the URL's sslMode if the account requires TLS",
                                s.code
                            )))
                        }
                        Err(e) if connect_core::tls::is_mysql_tls_failure(&e) => {
                            return Err(DbError::Fatal(format!(
                                "TLS to MariaDB/MySQL failed (connection.url sslMode, serverSslCert): {}",
                                connect_core::tls::with_causes(&e)
                            )))
                        }
                        Err(mysql_async::Error::Server(s)) if s.code == 1049 => {
                            return Err(DbError::Fatal(
                                "MariaDB/MySQL has no database of that name (connection.url)".into(),
                            ))
                        }
                        // The next host, if any (the error's text is not kept: it can name
                        // the statement that failed).
                        Err(_) => {}
                    }
                }
                Err(DbError::Retriable(
                    "could not connect to MariaDB/MySQL (connection.url)".into(),
                ))
            }
        }
    }

    /// Runs statements without results (transaction control, DDL).
    pub async fn simple(&mut self, sql: &str, table: &TableId) -> Result<(), DbError> {
        match self {
            Conn::Postgres(pg) => pg
                .client
                .batch_execute(sql)
                .await
                .map_err(|e| classify_pg(&e, table, false)),
            Conn::MySql(c) => {
                use mysql_async::prelude::Queryable;
                c.query_drop(sql)
                    .await
                    .map_err(|e| classify_mysql(&e, table, false))
            }
        }
    }

    /// The table's columns, or `None` when it does not exist.
    pub async fn table_info(&mut self, t: &TableId) -> Result<Option<TableInfo>, DbError> {
        let columns: Vec<ColumnInfo> = match self {
            Conn::Postgres(pg) => {
                let rows = pg
                    .client
                    .query(
                        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) \
                         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
                         JOIN pg_namespace n ON n.oid = c.relnamespace \
                         WHERE c.relname = $1 AND n.nspname = COALESCE($2::text, current_schema()) \
                         AND c.relkind IN ('r', 'p', 'v', 'f') AND a.attnum > 0 AND NOT a.attisdropped \
                         ORDER BY a.attnum",
                        &[&t.name, &t.schema],
                    )
                    .await
                    .map_err(|e| classify_pg(&e, t, false))?;
                rows.iter()
                    .map(|r| ColumnInfo {
                        name: r.get(0),
                        type_name: r.get::<_, String>(1).to_ascii_lowercase(),
                    })
                    .collect()
            }
            Conn::MySql(c) => {
                use mysql_async::prelude::Queryable;
                let rows: Vec<(String, String)> = c
                    .exec(
                        "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS \
                         WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? \
                         ORDER BY ORDINAL_POSITION",
                        (t.schema.clone(), t.name.clone()),
                    )
                    .await
                    .map_err(|e| classify_mysql(&e, t, false))?;
                rows.into_iter()
                    .map(|(name, ty)| ColumnInfo {
                        name,
                        type_name: ty.to_ascii_lowercase(),
                    })
                    .collect()
            }
        };
        Ok((!columns.is_empty()).then_some(TableInfo { columns }))
    }

    /// PostgreSQL: runs `sql` (prepared once per connection) with one array per column.
    pub async fn pg_execute(
        &mut self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        table: &TableId,
        include_messages: bool,
    ) -> Result<u64, DbError> {
        let Conn::Postgres(pg) = self else {
            return Err(DbError::Fatal(
                "internal: a PostgreSQL statement on another database".into(),
            ));
        };
        let PgConn {
            client, statements, ..
        } = &mut **pg;
        let stmt = match statements.get(sql) {
            Some(s) => s.clone(),
            None => {
                let s = client
                    .prepare(sql)
                    .await
                    .map_err(|e| classify_pg(&e, table, include_messages))?;
                // A bound on what one connection keeps prepared.
                if statements.len() >= 256 {
                    statements.clear();
                }
                statements.insert(sql.to_owned(), s.clone());
                s
            }
        };
        client
            .execute(&stmt, params)
            .await
            .map_err(|e| classify_pg(&e, table, include_messages))
    }

    /// MariaDB/MySQL: runs a prepared statement with positional parameters.
    pub async fn mysql_execute(
        &mut self,
        sql: &str,
        params: Vec<mysql_async::Value>,
        table: &TableId,
        include_messages: bool,
    ) -> Result<(), DbError> {
        use mysql_async::prelude::Queryable;
        let Conn::MySql(c) = self else {
            return Err(DbError::Fatal(
                "internal: a MariaDB/MySQL statement on another database".into(),
            ));
        };
        c.exec_drop(sql, mysql_async::Params::Positional(params))
            .await
            .map_err(|e| classify_mysql(&e, table, include_messages))
    }

    /// Closes the connection politely (MariaDB/MySQL say goodbye; PostgreSQL's ends on drop).
    pub async fn close(self) {
        match self {
            Conn::MySql(c) => {
                let _ = tokio::time::timeout(Duration::from_secs(5), c.disconnect()).await;
            }
            pg => drop(pg),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_messages_give_the_column_not_the_value() {
        assert_eq!(
            mysql_column(
                "Incorrect integer value: 'Doe' for column `clinical`.`patient`.`id` at row 1"
            ),
            Some("id".into())
        );
        assert_eq!(
            mysql_column("Data too long for column 'mrn' at row 3"),
            Some("mrn".into())
        );
        assert_eq!(
            mysql_column(
                "Incorrect integer value: 'for column 'ssn 123'' for column 'id' at row 1"
            ),
            Some("id".into())
        );
        assert_eq!(mysql_column("Duplicate entry '5' for key 'PRIMARY'"), None);
    }
}
