//! One `put` batch into the database, in one transaction:
//!
//! 1. each record becomes a row operation (or is errant: a value its column cannot take, a missing
//!    key), named by its position;
//! 2. with a primary key and `insert.mode` `upsert` or `update`, the operations on one key collapse
//!    to the last (the table ends the same, and one statement never touches a row twice);
//! 3. missing tables are created and missing columns added (`auto.create`, `auto.evolve`), outside
//!    the data transaction;
//! 4. operations on the same table, of the same kind and columns, go in one statement (PostgreSQL:
//!    one `unnest` statement per `batch.size` rows; MariaDB/MySQL: multi-row statements);
//! 5. `BEGIN`, the statements, `COMMIT`. When a statement fails because of the rows (a constraint,
//!    a value), the transaction is rolled back and the batch written again row by row inside one
//!    transaction, each row behind a savepoint: the rows that fail are errant, the others commit
//!    together. Any other failure rolls back and is the caller's to retry or fail on.
//!
//! Nothing is committed that the caller does not then count as written: the runtime commits the
//! batch's offsets only after `put` returns.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use connect_core::record::SinkRecord;

use super::cell::{mysql_value, pg_cell, Cell, PgCell, PgTarget};
use super::config::{InsertMode, JdbcSinkConfig, PkMode};
use super::conn::{mysql_session_offset, Conn, DbError};
use super::dialect::{Dialect, MYSQL_MAX_PARAMS};
use super::pg_array::PgArray;
use super::row::{row_in, table_for, OpKind, Plans, RowOp};
use super::schema::{ColumnSpec, TableId, TableInfo};
use super::url::DialectKind;
use crate::zone::Zone;

/// A record the sink did not write, and why (without its data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Errant {
    /// Its position in the batch.
    pub record: usize,
    /// The reason: field or column, expected form, SQLSTATE.
    pub reason: String,
}

/// A group's values in the form its database takes, row after row (`width` cells a row), in one
/// allocation for the group rather than one per row.
enum Wire<'a> {
    Pg(Vec<PgCell<'a>>),
    My(Vec<mysql_async::Value>),
}

impl Wire<'_> {
    fn len(&self) -> usize {
        match self {
            Wire::Pg(c) => c.len(),
            Wire::My(c) => c.len(),
        }
    }

    fn truncate(&mut self, len: usize) {
        match self {
            Wire::Pg(c) => c.truncate(len),
            Wire::My(c) => c.truncate(len),
        }
    }
}

/// Rows written by one statement shape.
struct Group<'a> {
    table: TableId,
    kind: OpKind,
    /// The records' field names, key first.
    fields: Vec<Cow<'a, str>>,
    /// The table's own column names for them.
    names: Vec<String>,
    /// The columns' declared types (PostgreSQL casts to them; MariaDB/MySQL's `TIMESTAMP` columns
    /// take the session's zone).
    types: Vec<String>,
    /// The PostgreSQL columns' types as the binary forms read them.
    targets: Vec<PgTarget>,
    key_len: usize,
    /// The records of the rows, in row order.
    records: Vec<usize>,
    /// The rows' cells, `fields.len()` a row.
    cells: Wire<'a>,
}

impl Group<'_> {
    /// Cells a row.
    fn width(&self) -> usize {
        self.fields.len()
    }
}

/// Writes batches; keeps what it learnt of the tables.
pub struct Writer {
    dialect: Dialect,
    tables: HashMap<TableId, TableInfo>,
    plans: Plans,
}

impl Writer {
    /// A writer for a config.
    pub fn new(cfg: &JdbcSinkConfig) -> Writer {
        Writer {
            dialect: Dialect {
                kind: cfg.url.dialect,
                quote: cfg.quote_identifiers,
            },
            tables: HashMap::new(),
            plans: Plans::default(),
        }
    }

    /// Forgets the tables' descriptions (after a failure: a table may have changed).
    pub fn forget_tables(&mut self) {
        self.tables.clear();
    }

    /// Writes `records`. `Ok` lists the errant ones (everything else is committed); `Err` means
    /// nothing of the batch was committed.
    pub async fn write(
        &mut self,
        cfg: &JdbcSinkConfig,
        conn: &mut Conn,
        records: &[SinkRecord],
        include_messages: bool,
    ) -> Result<Vec<Errant>, DbError> {
        let mut errant = Vec::new();
        let mut ops = Vec::with_capacity(records.len());
        // A batch holds few topics: each one's table is resolved once.
        let mut tables_by_topic: Vec<(&str, Result<TableId, String>)> = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let topic = r.record.topic.as_str();
            let table = match tables_by_topic.iter().find(|(t, _)| *t == topic) {
                Some((_, t)) => t.clone(),
                None => {
                    let t = table_for(cfg, topic);
                    tables_by_topic.push((topic, t.clone()));
                    t
                }
            };
            match table.and_then(|t| row_in(cfg, &mut self.plans, i, r, t)) {
                Ok(op) => ops.push(op),
                Err(reason) => errant.push(Errant { record: i, reason }),
            }
        }
        let collapse = cfg.pk_mode != PkMode::None && cfg.insert_mode != InsertMode::Insert;
        if collapse {
            ops = last_per_key(ops);
        }
        // The batch's tables, each once (a batch holds few).
        let mut tables: Vec<TableId> = Vec::new();
        for o in &ops {
            if !tables.contains(&o.table) {
                tables.push(o.table.clone());
            }
        }
        tables.sort();
        for t in &tables {
            self.ensure_table(cfg, conn, t, &ops).await?;
        }
        let groups = self.groups(cfg, ops, collapse, &mut errant)?;
        match self.run(cfg, conn, &groups, include_messages).await {
            Ok(()) => {}
            Err(DbError::Record(_)) => {
                rollback(conn).await;
                self.isolate(conn, &groups, include_messages, &mut errant)
                    .await?;
            }
            Err(e) => {
                rollback(conn).await;
                return Err(e);
            }
        }
        errant.sort_by_key(|e| e.record);
        Ok(errant)
    }

    /// Creates the table or adds columns when allowed; fails naming what is missing otherwise.
    async fn ensure_table(
        &mut self,
        cfg: &JdbcSinkConfig,
        conn: &mut Conn,
        t: &TableId,
        ops: &[RowOp<'_>],
    ) -> Result<(), DbError> {
        let lookup = TableId {
            schema: t.schema.as_deref().map(|s| self.dialect.stored_name(s)),
            name: self.dialect.stored_name(&t.name),
        };
        let ops: Vec<&RowOp<'_>> = ops.iter().filter(|o| &o.table == t).collect();
        if !self.tables.contains_key(t) {
            match conn.table_info(&lookup).await? {
                Some(info) => {
                    self.tables.insert(t.clone(), info);
                }
                None => {
                    if !cfg.auto_create {
                        return Err(DbError::Fatal(format!(
                            "table {t} does not exist and auto.create is false"
                        )));
                    }
                    let mut columns: Vec<(&str, &ColumnSpec)> = Vec::new();
                    let mut key: Vec<&str> = Vec::new();
                    for op in ops.iter().filter(|o| o.kind != OpKind::Delete) {
                        for (i, c) in op.columns.iter().enumerate() {
                            let Some(spec) = &c.spec else {
                                return Err(DbError::Fatal(format!(
                                    "table {t} does not exist, and auto.create needs records with schemas (a converter with schemas.enable=true); field {} has none",
                                    c.name
                                )));
                            };
                            if !columns.iter().any(|(n, _)| *n == c.name.as_ref()) {
                                columns.push((c.name.as_ref(), spec));
                                if i < op.key_len {
                                    key.push(c.name.as_ref());
                                }
                            }
                        }
                    }
                    if columns.is_empty() {
                        return Err(DbError::Fatal(format!(
                            "table {t} does not exist, and the batch has only deletes to create it from"
                        )));
                    }
                    let sql = self.dialect.create_table(t, &columns, &key);
                    tracing::info!(table = %t, "creating table (auto.create)");
                    conn.simple(&sql, t).await?;
                    let info = conn.table_info(&lookup).await?.ok_or_else(|| {
                        DbError::Fatal(format!("table {t} was created but cannot be found (check table.name.format and quote.sql.identifiers)"))
                    })?;
                    self.tables.insert(t.clone(), info);
                }
            }
        }
        let info = &self.tables[t];
        let mut missing: Vec<(&str, Option<&ColumnSpec>)> = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            // A row with the previous row's fields has nothing new to check.
            if i > 0 && same_fields(ops[i - 1], op) {
                continue;
            }
            for c in &op.columns {
                if info.column(&c.name).is_none()
                    && !missing.iter().any(|(n, _)| *n == c.name.as_ref())
                {
                    missing.push((c.name.as_ref(), c.spec.as_ref()));
                }
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let names = missing
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ");
        if !cfg.auto_evolve {
            return Err(DbError::Fatal(format!(
                "table {t} has no column for field(s) {names} and auto.evolve is false"
            )));
        }
        for (name, spec) in &missing {
            let Some(spec) = spec else {
                return Err(DbError::Fatal(format!(
                    "table {t} has no column for field {name}, and auto.evolve needs records with schemas to add one"
                )));
            };
            tracing::info!(table = %t, column = %name, "adding column (auto.evolve)");
            match conn
                .simple(&self.dialect.add_column(t, name, spec), t)
                .await
            {
                Ok(()) => {}
                // MySQL: the column was added meanwhile (error 1060, duplicate column name).
                Err(DbError::Fatal(m)) if m.contains("error 1060 ") => {}
                Err(e) => return Err(e),
            }
        }
        match conn.table_info(&lookup).await? {
            Some(info) => {
                self.tables.insert(t.clone(), info);
                Ok(())
            }
            None => Err(DbError::Retriable(format!(
                "table {t} disappeared while columns were added"
            ))),
        }
    }

    /// Turns operations into statement groups, converting every value to its wire form (a value
    /// its column cannot take makes the record errant here, before anything is sent).
    fn groups<'a>(
        &self,
        cfg: &JdbcSinkConfig,
        mut ops: Vec<RowOp<'a>>,
        reorder: bool,
        errant: &mut Vec<Errant>,
    ) -> Result<Vec<Group<'a>>, DbError> {
        if reorder {
            // Each key appears once, so rows of different keys may go in any order: sorting by
            // shape makes the fewest statements.
            ops.sort_by(|a, b| {
                (&a.table, a.kind as u8, a.columns.len()).cmp(&(
                    &b.table,
                    b.kind as u8,
                    b.columns.len(),
                ))
            });
        }
        let tz = cfg.db_timezone;
        let session_tz = Zone::Fixed(mysql_session_offset(tz));
        let mut groups: Vec<Group<'a>> = Vec::new();
        for op in ops {
            if op.kind == OpKind::Update && op.columns.len() == op.key_len {
                // Nothing to set.
                continue;
            }
            // Rows of one shape follow each other: the previous group's columns serve again.
            let same_shape = groups.last().is_some_and(|g| {
                g.table == op.table
                    && g.kind == op.kind
                    && g.key_len == op.key_len
                    && g.fields.len() == op.columns.len()
                    && g.fields
                        .iter()
                        .zip(&op.columns)
                        .all(|(f, c)| same_name(f, &c.name))
            });
            if !same_shape {
                let info = &self.tables[&op.table];
                let mut names = Vec::with_capacity(op.columns.len());
                let mut types = Vec::with_capacity(op.columns.len());
                for c in &op.columns {
                    let col = info.column(&c.name).ok_or_else(|| {
                        DbError::Retriable(format!(
                            "table {} changed while the batch was planned",
                            op.table
                        ))
                    })?;
                    names.push(col.name.clone());
                    types.push(col.type_name.clone());
                }
                let (targets, cells) = match self.dialect.kind {
                    DialectKind::Postgres => (
                        types.iter().map(|t| PgTarget::of(t)).collect(),
                        Wire::Pg(Vec::new()),
                    ),
                    DialectKind::MySql => (Vec::new(), Wire::My(Vec::new())),
                };
                groups.push(Group {
                    // Borrowed from the records: no copies.
                    fields: op.columns.iter().map(|c| c.name.clone()).collect(),
                    table: op.table.clone(),
                    kind: op.kind,
                    names,
                    types,
                    targets,
                    key_len: op.key_len,
                    records: Vec::new(),
                    cells,
                });
            }
            let Some(g) = groups.last_mut() else {
                continue;
            };
            let start = g.cells.len();
            let converted: Result<(), String> = match &mut g.cells {
                Wire::Pg(cells) => op
                    .columns
                    .into_iter()
                    .zip(g.types.iter().zip(&g.targets))
                    .try_for_each(|(c, (ty, target))| {
                        cells.push(
                            pg_cell(c.cell, ty, *target, tz)
                                .map_err(|e| format!("field {}: expected {e}", c.name))?,
                        );
                        Ok(())
                    }),
                Wire::My(cells) => op.columns.iter().zip(&g.types).try_for_each(|(c, ty)| {
                    // The server converts a TIMESTAMP from the session's zone to UTC.
                    let zone = if ty.starts_with("timestamp") {
                        session_tz
                    } else {
                        tz
                    };
                    cells.push(
                        mysql_value(&c.cell, zone)
                            .map_err(|e| format!("field {}: expected {e}", c.name))?,
                    );
                    Ok(())
                }),
            };
            match converted {
                Ok(()) => g.records.push(op.record),
                Err(reason) => {
                    g.cells.truncate(start);
                    errant.push(Errant {
                        record: op.record,
                        reason: format!("table {}: {reason}", op.table),
                    });
                }
            }
        }
        // A group whose every row was errant has nothing to write.
        groups.retain(|g| !g.records.is_empty());
        Ok(groups)
    }

    /// All groups in one transaction.
    async fn run(
        &self,
        cfg: &JdbcSinkConfig,
        conn: &mut Conn,
        groups: &[Group<'_>],
        include_messages: bool,
    ) -> Result<(), DbError> {
        if groups.is_empty() {
            return Ok(());
        }
        let any = &groups[0].table;
        conn.simple("BEGIN", any).await?;
        for g in groups {
            let max = match self.dialect.kind {
                DialectKind::Postgres => cfg.batch_size,
                DialectKind::MySql => match g.kind {
                    OpKind::Update => 1,
                    OpKind::Delete => cfg.batch_size.min(MYSQL_MAX_PARAMS / g.key_len.max(1)),
                    _ => cfg.batch_size.min(MYSQL_MAX_PARAMS / g.names.len().max(1)),
                },
            }
            .max(1);
            let rows = g.records.len();
            for start in (0..rows).step_by(max) {
                self.execute(conn, g, start..rows.min(start + max), include_messages)
                    .await?;
            }
        }
        conn.simple("COMMIT", any).await
    }

    /// One statement for the rows `rows` of a group.
    async fn execute(
        &self,
        conn: &mut Conn,
        g: &Group<'_>,
        rows: Range<usize>,
        include_messages: bool,
    ) -> Result<(), DbError> {
        let w = g.width();
        let names: Vec<&str> = g.names.iter().map(String::as_str).collect();
        match self.dialect.kind {
            DialectKind::Postgres => {
                let types: Vec<&str> = g.types.iter().map(String::as_str).collect();
                let width = if g.kind == OpKind::Delete {
                    g.key_len
                } else {
                    names.len()
                };
                let Wire::Pg(cells) = &g.cells else {
                    return Err(DbError::Fatal(
                        "internal: MariaDB/MySQL values for PostgreSQL".into(),
                    ));
                };
                let rows = &cells[rows.start * w..rows.end * w];
                let columns: Vec<PgArray<'_>> = (0..width)
                    .map(|i| PgArray::of(rows.iter().skip(i).step_by(w)))
                    .collect();
                let params: Vec<&str> = columns.iter().map(PgArray::element_type).collect();
                let sql = self
                    .dialect
                    .pg_statement(g.kind, &g.table, &names, &types, &params, g.key_len);
                let values: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                    columns.iter().map(PgArray::as_sql).collect();
                conn.pg_execute(&sql, &values, &g.table, include_messages)
                    .await
                    .map(|_| ())
            }
            DialectKind::MySql => {
                let sql =
                    self.dialect
                        .mysql_statement(g.kind, &g.table, &names, g.key_len, rows.len());
                let Wire::My(all) = &g.cells else {
                    return Err(DbError::Fatal(
                        "internal: PostgreSQL values for MariaDB/MySQL".into(),
                    ));
                };
                let mut params = Vec::with_capacity(rows.len() * names.len());
                for cells in all[rows.start * w..rows.end * w].chunks(w.max(1)) {
                    match g.kind {
                        OpKind::Delete => params.extend(cells[..g.key_len].iter().cloned()),
                        // SET the values, WHERE the key.
                        OpKind::Update => {
                            params.extend(cells[g.key_len..].iter().cloned());
                            params.extend(cells[..g.key_len].iter().cloned());
                        }
                        _ => params.extend(cells.iter().cloned()),
                    }
                }
                conn.mysql_execute(&sql, params, &g.table, include_messages)
                    .await
            }
        }
    }

    /// Row by row in one transaction, each behind a savepoint: the rows that fail are errant.
    async fn isolate(
        &self,
        conn: &mut Conn,
        groups: &[Group<'_>],
        include_messages: bool,
        errant: &mut Vec<Errant>,
    ) -> Result<(), DbError> {
        let any = &groups[0].table;
        conn.simple("BEGIN", any).await?;
        for g in groups {
            for (row, record) in g.records.iter().enumerate() {
                conn.simple("SAVEPOINT connect_row", &g.table).await?;
                match self.execute(conn, g, row..row + 1, include_messages).await {
                    Ok(()) => {
                        conn.simple("RELEASE SAVEPOINT connect_row", &g.table)
                            .await?
                    }
                    Err(DbError::Record(reason)) => {
                        conn.simple("ROLLBACK TO SAVEPOINT connect_row", &g.table)
                            .await?;
                        errant.push(Errant {
                            record: *record,
                            reason,
                        });
                    }
                    Err(e) => {
                        rollback(conn).await;
                        return Err(e);
                    }
                }
            }
        }
        match conn.simple("COMMIT", any).await {
            Ok(()) => Ok(()),
            Err(e) => {
                rollback(conn).await;
                Err(match e {
                    // A deferred constraint failing at commit cannot be pinned on a row.
                    DbError::Record(m) => DbError::Fatal(format!("{m} (at commit)")),
                    other => other,
                })
            }
        }
    }
}

/// Whether two rows bring the same fields in the same order (names compared by address first:
/// records of one schema share their field names).
fn same_fields(a: &RowOp<'_>, b: &RowOp<'_>) -> bool {
    a.columns.len() == b.columns.len()
        && a.columns
            .iter()
            .zip(&b.columns)
            .all(|(x, y)| same_name(&x.name, &y.name))
}

/// Two field names equal, by address first.
fn same_name(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

async fn rollback(conn: &mut Conn) {
    let t = TableId {
        schema: None,
        name: String::new(),
    };
    let _ = conn.simple("ROLLBACK", &t).await;
}

/// A row's table and key, compared and hashed without copying (floats by their bits).
struct KeyOf<'k, 'a>(&'k RowOp<'a>);

impl PartialEq for KeyOf<'_, '_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.table == other.0.table
            && self.0.key().len() == other.0.key().len()
            && self
                .0
                .key()
                .iter()
                .zip(other.0.key())
                .all(|(a, b)| same_cell(&a.cell, &b.cell))
    }
}

impl Eq for KeyOf<'_, '_> {}

impl std::hash::Hash for KeyOf<'_, '_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.table.hash(h);
        for c in self.0.key() {
            std::mem::discriminant(&c.cell).hash(h);
            match &c.cell {
                Cell::Null => {}
                Cell::Bool(b) => b.hash(h),
                Cell::Int(i) | Cell::Date(i) | Cell::Time(i) | Cell::Timestamp(i) => i.hash(h),
                Cell::Float32(f) => f.to_bits().hash(h),
                Cell::Float64(f) => f.to_bits().hash(h),
                Cell::Decimal(d) => d.hash(h),
                Cell::Text(t) | Cell::Json(t) => t.hash(h),
                Cell::Bytes(b) => b.hash(h),
            }
        }
    }
}

/// Equality as the hash sees it (floats by their bits, so NaN keys match themselves).
fn same_cell(a: &Cell<'_>, b: &Cell<'_>) -> bool {
    match (a, b) {
        (Cell::Float32(x), Cell::Float32(y)) => x.to_bits() == y.to_bits(),
        (Cell::Float64(x), Cell::Float64(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// Keeps the last operation of each key (per table), in batch order of those last operations.
fn last_per_key(ops: Vec<RowOp<'_>>) -> Vec<RowOp<'_>> {
    let keep: Vec<bool> = {
        let mut last: HashMap<KeyOf<'_, '_>, usize> = HashMap::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            last.insert(KeyOf(op), i);
        }
        let mut keep = vec![false; ops.len()];
        for i in last.into_values() {
            keep[i] = true;
        }
        keep
    };
    ops.into_iter()
        .zip(keep)
        .filter_map(|(op, k)| k.then_some(op))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jdbc::row::Column;
    use std::borrow::Cow;

    fn op(record: usize, key: i64, kind: OpKind) -> RowOp<'static> {
        RowOp {
            record,
            table: TableId {
                schema: None,
                name: "t".into(),
            },
            kind,
            columns: vec![Column {
                name: Cow::Borrowed("id"),
                cell: Cell::Int(key),
                spec: None,
            }],
            key_len: 1,
        }
    }

    #[test]
    fn the_last_operation_per_key_wins() {
        let ops = vec![
            op(0, 1, OpKind::Upsert),
            op(1, 2, OpKind::Upsert),
            op(2, 1, OpKind::Delete),
            op(3, 3, OpKind::Upsert),
            op(4, 2, OpKind::Upsert),
        ];
        let kept: Vec<(usize, OpKind)> = last_per_key(ops)
            .iter()
            .map(|o| (o.record, o.kind))
            .collect();
        assert_eq!(
            kept,
            vec![
                (2, OpKind::Delete),
                (3, OpKind::Upsert),
                (4, OpKind::Upsert)
            ]
        );
    }

    #[test]
    fn a_row_refused_while_converting_leaves_the_group_s_other_rows_whole() {
        use crate::jdbc::schema::{ColumnInfo, TableInfo};
        use connect_core::config::Props;
        for url in ["jdbc:postgresql://h/db", "jdbc:mariadb://h/db"] {
            let cfg = JdbcSinkConfig::parse(
                &Props::new()
                    .with("name", "t")
                    .with("connection.url", url)
                    .with("pk.mode", "record_value")
                    .with("pk.fields", "id"),
            )
            .unwrap();
            let mut w = Writer::new(&cfg);
            let t = TableId {
                schema: None,
                name: "t".into(),
            };
            let column = |name: &str, type_name: &str| ColumnInfo {
                name: name.into(),
                type_name: type_name.into(),
            };
            w.tables.insert(
                t.clone(),
                TableInfo {
                    columns: vec![column("id", "bigint"), column("born", "date")],
                },
            );
            let row = |record: usize, born: i64| {
                let mut o = op(record, record as i64, OpKind::Insert);
                o.columns.push(Column {
                    name: Cow::Borrowed("born"),
                    cell: Cell::Date(born),
                    spec: None,
                });
                o
            };
            // The middle row's date lies after the year 9999, which neither database takes.
            let ops = vec![row(0, 1), row(1, 5_000_000), row(2, 3)];
            let mut errant = Vec::new();
            let groups = w.groups(&cfg, ops, false, &mut errant).unwrap();
            assert_eq!(errant.len(), 1, "{url}");
            assert_eq!(errant[0].record, 1);
            assert!(errant[0].reason.contains("field born"), "{errant:?}");
            assert_eq!(groups.len(), 1);
            let g = &groups[0];
            assert_eq!(g.records, [0, 2]);
            match &g.cells {
                Wire::Pg(cells) => assert_eq!(
                    cells,
                    &[
                        PgCell::Int(0),
                        PgCell::Date(1),
                        PgCell::Int(2),
                        PgCell::Date(3)
                    ]
                ),
                Wire::My(cells) => assert_eq!(
                    cells,
                    &[
                        mysql_async::Value::Int(0),
                        mysql_async::Value::Date(1970, 1, 2, 0, 0, 0, 0),
                        mysql_async::Value::Int(2),
                        mysql_async::Value::Date(1970, 1, 4, 0, 0, 0, 0)
                    ]
                ),
            }
        }
    }

    #[test]
    fn keys_of_different_tables_or_kinds_of_value_are_different_keys() {
        let mut other_table = op(1, 1, OpKind::Upsert);
        other_table.table.name = "u".into();
        let mut text_key = op(2, 1, OpKind::Upsert);
        text_key.columns[0].cell = Cell::Text(Cow::Borrowed("1"));
        let ops = vec![
            op(0, 1, OpKind::Upsert),
            other_table,
            text_key,
            op(3, 1, OpKind::Upsert),
        ];
        let kept: Vec<usize> = last_per_key(ops).iter().map(|o| o.record).collect();
        assert_eq!(kept, vec![1, 2, 3]);
    }
}
