//! SQL text per database: identifiers, the column types `auto.create` declares, and the
//! statements a group of rows is written with.
//!
//! * PostgreSQL: one statement per group whatever its size: every column travels as one array
//!   parameter (binary for numbers, booleans, dates and timestamps, `text[]` otherwise; see
//!   [`super::pg_array`]), `unnest` turns the arrays into rows, and each value is cast to its
//!   column's own type (as `format_type` names it), so enums, domains, `jsonb`, `uuid`, arrays and
//!   numerics are read by the server's own input functions. Upserts are
//!   `INSERT … ON CONFLICT (key) DO UPDATE`.
//! * MariaDB/MySQL: multi-row `INSERT … VALUES (…),(…)` with typed parameters (up to 65 535 per
//!   statement), upserts with `ON DUPLICATE KEY UPDATE`, deletes with `WHERE (key) IN (…)`.

use std::fmt::Write as _;

use super::schema::{ColumnKind, ColumnSpec, TableId};
use super::url::DialectKind;

/// The SQL of one database family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// Which one.
    pub kind: DialectKind,
    /// `quote.sql.identifiers=always`.
    pub quote: bool,
}

/// The most parameters MariaDB/MySQL take in one prepared statement.
pub const MYSQL_MAX_PARAMS: usize = 65_535;

impl Dialect {
    /// An identifier. Quoted when `quote.sql.identifiers=always`, and always when it is not a plain
    /// name (so no name from a record can change the statement).
    pub fn ident(&self, name: &str) -> String {
        let plain = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !self.quote && plain {
            return name.to_owned();
        }
        let q = match self.kind {
            DialectKind::Postgres => '"',
            DialectKind::MySql => '`',
        };
        let mut out = String::with_capacity(name.len() + 2);
        out.push(q);
        for c in name.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
        out
    }

    /// How the database will store a name: PostgreSQL folds unquoted names to lower case.
    pub fn stored_name(&self, name: &str) -> String {
        if !self.quote && self.kind == DialectKind::Postgres && self.ident(name) == name {
            name.to_ascii_lowercase()
        } else {
            name.to_owned()
        }
    }

    /// A table reference.
    pub fn table(&self, t: &TableId) -> String {
        match &t.schema {
            Some(s) => format!("{}.{}", self.ident(s), self.ident(&t.name)),
            None => self.ident(&t.name),
        }
    }

    /// The type `auto.create` and `auto.evolve` declare for a column; key columns get types the
    /// database can index.
    pub fn sql_type(&self, kind: ColumnKind, key: bool) -> String {
        use ColumnKind::*;
        match self.kind {
            DialectKind::Postgres => match kind {
                Bool => "BOOLEAN".into(),
                Int8 | Int16 => "SMALLINT".into(),
                Int32 => "INTEGER".into(),
                Int64 => "BIGINT".into(),
                Float32 => "REAL".into(),
                Float64 => "DOUBLE PRECISION".into(),
                Decimal(_) => "NUMERIC".into(),
                Text => "TEXT".into(),
                Bytes => "BYTEA".into(),
                Date => "DATE".into(),
                Time => "TIME".into(),
                Timestamp => "TIMESTAMP".into(),
                TimestampTz => "TIMESTAMPTZ".into(),
                Json => "JSONB".into(),
                Uuid => "UUID".into(),
            },
            DialectKind::MySql => match kind {
                Bool => "TINYINT(1)".into(),
                Int8 => "TINYINT".into(),
                Int16 => "SMALLINT".into(),
                Int32 => "INT".into(),
                Int64 => "BIGINT".into(),
                Float32 => "FLOAT".into(),
                Float64 => "DOUBLE".into(),
                Decimal(Some(s)) if (0..=30).contains(&s) => format!("DECIMAL(65,{s})"),
                Decimal(_) => "DECIMAL(65,30)".into(),
                Text if key => "VARCHAR(256)".into(),
                Text => "LONGTEXT".into(),
                Bytes if key => "VARBINARY(255)".into(),
                Bytes => "LONGBLOB".into(),
                Date => "DATE".into(),
                Time => "TIME(6)".into(),
                Timestamp | TimestampTz => "DATETIME(6)".into(),
                Json => "JSON".into(),
                Uuid => "CHAR(36)".into(),
            },
        }
    }

    /// `CREATE TABLE IF NOT EXISTS` with the columns and primary key a record brings.
    pub fn create_table(
        &self,
        t: &TableId,
        columns: &[(&str, &ColumnSpec)],
        key: &[&str],
    ) -> String {
        let mut sql = format!("CREATE TABLE IF NOT EXISTS {} (", self.table(t));
        for (i, (name, spec)) in columns.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let is_key = key.contains(name);
            let _ = write!(
                sql,
                "{} {}",
                self.ident(name),
                self.sql_type(spec.kind, is_key)
            );
            if is_key || !spec.optional {
                sql.push_str(" NOT NULL");
            }
        }
        if !key.is_empty() {
            sql.push_str(", PRIMARY KEY (");
            sql.push_str(&self.list(key.iter().copied()));
            sql.push(')');
        }
        sql.push(')');
        sql
    }

    /// `ALTER TABLE … ADD COLUMN`, always nullable (`auto.evolve` never adds a required column).
    pub fn add_column(&self, t: &TableId, name: &str, spec: &ColumnSpec) -> String {
        let if_not_exists = match self.kind {
            DialectKind::Postgres => "IF NOT EXISTS ",
            // MySQL has no IF NOT EXISTS here: a column added meanwhile is error 1060, ignored.
            DialectKind::MySql => "",
        };
        format!(
            "ALTER TABLE {} ADD COLUMN {if_not_exists}{} {} NULL",
            self.table(t),
            self.ident(name),
            self.sql_type(spec.kind, false)
        )
    }

    fn list<'a>(&self, names: impl Iterator<Item = &'a str>) -> String {
        names.map(|n| self.ident(n)).collect::<Vec<_>>().join(", ")
    }

    /// PostgreSQL: the statement for a group, one array parameter per column, of element type
    /// `params[i]` (`text`, or `int8`, `float8`, `bool` where the values are sent in binary).
    /// `types` are the columns' types as the table declares them; the first `key_len` columns are
    /// the key.
    pub fn pg_statement(
        &self,
        kind: super::row::OpKind,
        t: &TableId,
        names: &[&str],
        types: &[&str],
        params: &[&str],
        key_len: usize,
    ) -> String {
        use super::row::OpKind;
        let table = self.table(t);
        let n = names.len();
        let mut unnest = String::from("unnest(");
        for i in 1..=n {
            if i > 1 {
                unnest.push_str(", ");
            }
            let _ = write!(
                unnest,
                "${i}::{}[]",
                params.get(i - 1).copied().unwrap_or("text")
            );
        }
        unnest.push_str(") AS v(");
        for i in 1..=n {
            if i > 1 {
                unnest.push_str(", ");
            }
            let _ = write!(unnest, "c{i}");
        }
        unnest.push(')');
        let cast = |i: usize| format!("v.c{}::{}", i + 1, pg_cast_type(types[i]));
        let key_match = || {
            (0..key_len)
                .map(|i| format!("t.{} = {}", self.ident(names[i]), cast(i)))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        match kind {
            OpKind::Insert | OpKind::Upsert => {
                let mut sql = format!(
                    "INSERT INTO {table} ({}) SELECT {} FROM {unnest}",
                    self.list(names.iter().copied()),
                    (0..n).map(cast).collect::<Vec<_>>().join(", ")
                );
                if kind == OpKind::Upsert {
                    let _ = write!(
                        sql,
                        " ON CONFLICT ({}) DO ",
                        self.list(names[..key_len].iter().copied())
                    );
                    if n == key_len {
                        sql.push_str("NOTHING");
                    } else {
                        sql.push_str("UPDATE SET ");
                        sql.push_str(
                            &names[key_len..]
                                .iter()
                                .map(|c| format!("{0} = EXCLUDED.{0}", self.ident(c)))
                                .collect::<Vec<_>>()
                                .join(", "),
                        );
                    }
                }
                sql
            }
            OpKind::Update => format!(
                "UPDATE {table} AS t SET {} FROM {unnest} WHERE {}",
                (key_len..n)
                    .map(|i| format!("{} = {}", self.ident(names[i]), cast(i)))
                    .collect::<Vec<_>>()
                    .join(", "),
                key_match()
            ),
            OpKind::Delete => format!(
                "DELETE FROM {table} AS t USING {unnest} WHERE {}",
                key_match()
            ),
        }
    }

    /// MariaDB/MySQL: the statement for `rows` rows of a group (`?` parameters, row after row).
    pub fn mysql_statement(
        &self,
        kind: super::row::OpKind,
        t: &TableId,
        names: &[&str],
        key_len: usize,
        rows: usize,
    ) -> String {
        use super::row::OpKind;
        let table = self.table(t);
        let tuple = |width: usize| {
            let mut s = String::with_capacity(width * 3 + 2);
            s.push('(');
            for i in 0..width {
                if i > 0 {
                    s.push(',');
                }
                s.push('?');
            }
            s.push(')');
            s
        };
        let repeat = |width: usize| vec![tuple(width); rows].join(",");
        match kind {
            OpKind::Insert | OpKind::Upsert => {
                let mut sql = format!(
                    "INSERT INTO {table} ({}) VALUES {}",
                    self.list(names.iter().copied()),
                    repeat(names.len())
                );
                if kind == OpKind::Upsert {
                    sql.push_str(" ON DUPLICATE KEY UPDATE ");
                    let updated = if names.len() == key_len {
                        &names[..1]
                    } else {
                        &names[key_len..]
                    };
                    sql.push_str(
                        &updated
                            .iter()
                            .map(|c| format!("{0} = VALUES({0})", self.ident(c)))
                            .collect::<Vec<_>>()
                            .join(", "),
                    );
                }
                sql
            }
            // One row per statement: MySQL has no portable multi-row UPDATE from parameters.
            OpKind::Update => format!(
                "UPDATE {table} SET {} WHERE {}",
                names[key_len..]
                    .iter()
                    .map(|c| format!("{} = ?", self.ident(c)))
                    .collect::<Vec<_>>()
                    .join(", "),
                names[..key_len]
                    .iter()
                    .map(|c| format!("{} = ?", self.ident(c)))
                    .collect::<Vec<_>>()
                    .join(" AND ")
            ),
            OpKind::Delete => format!(
                "DELETE FROM {table} WHERE ({}) IN ({})",
                self.list(names[..key_len].iter().copied()),
                repeat(key_len)
            ),
        }
    }
}

/// The type a PostgreSQL value is cast to before it is assigned to its column: the column's type,
/// except that the length of `character varying(n)`, `character(n)` and `bit(n)` is left out. An
/// explicit cast to those truncates silently; the assignment to the column then checks the length
/// and refuses a value that is too long (SQLSTATE 22001) instead of cutting it.
pub fn pg_cast_type(column_type: &str) -> std::borrow::Cow<'_, str> {
    let limited = ["character varying(", "character(", "bit(", "bit varying("];
    if let Some(prefix) = limited.iter().find(|p| column_type.starts_with(**p)) {
        if let Some(close) = column_type.find(')') {
            let base = &prefix[..prefix.len() - 1];
            return std::borrow::Cow::Owned(format!("{base}{}", &column_type[close + 1..]));
        }
    }
    std::borrow::Cow::Borrowed(column_type)
}

#[cfg(test)]
mod tests {
    use super::super::row::OpKind;
    use super::*;

    const PG: Dialect = Dialect {
        kind: DialectKind::Postgres,
        quote: true,
    };
    const MY: Dialect = Dialect {
        kind: DialectKind::MySql,
        quote: true,
    };

    fn t() -> TableId {
        TableId {
            schema: Some("clinical".into()),
            name: "patient".into(),
        }
    }

    #[test]
    fn identifiers_cannot_escape_their_quotes() {
        assert_eq!(PG.ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(MY.ident("a`b"), "`a``b`");
        let unquoted = Dialect {
            kind: DialectKind::Postgres,
            quote: false,
        };
        assert_eq!(unquoted.ident("Family"), "Family");
        assert_eq!(unquoted.stored_name("Family"), "family");
        assert_eq!(unquoted.ident("x; DROP TABLE y"), "\"x; DROP TABLE y\"");
    }

    #[test]
    fn postgres_upsert_update_delete() {
        let sql = PG.pg_statement(
            OpKind::Upsert,
            &t(),
            &["id", "mrn"],
            &["integer", "character varying(20)"],
            &["int8", "text"],
            1,
        );
        assert_eq!(sql, "INSERT INTO \"clinical\".\"patient\" (\"id\", \"mrn\") SELECT v.c1::integer, v.c2::character varying FROM unnest($1::int8[], $2::text[]) AS v(c1, c2) ON CONFLICT (\"id\") DO UPDATE SET \"mrn\" = EXCLUDED.\"mrn\"");
        let sql = PG.pg_statement(OpKind::Delete, &t(), &["id"], &["integer"], &["text"], 1);
        assert_eq!(sql, "DELETE FROM \"clinical\".\"patient\" AS t USING unnest($1::text[]) AS v(c1) WHERE t.\"id\" = v.c1::integer");
        let sql = PG.pg_statement(
            OpKind::Update,
            &t(),
            &["id", "mrn"],
            &["integer", "text"],
            &["text", "text"],
            1,
        );
        assert!(
            sql.starts_with(
                "UPDATE \"clinical\".\"patient\" AS t SET \"mrn\" = v.c2::text FROM unnest("
            ),
            "{sql}"
        );
        let sql = PG.pg_statement(OpKind::Upsert, &t(), &["id"], &["integer"], &["text"], 1);
        assert!(sql.ends_with("DO NOTHING"), "{sql}");
    }

    #[test]
    fn length_limited_types_are_checked_by_the_assignment_not_cut_by_the_cast() {
        assert_eq!(pg_cast_type("character varying(12)"), "character varying");
        assert_eq!(pg_cast_type("character(3)[]"), "character[]");
        assert_eq!(pg_cast_type("numeric(8,2)"), "numeric(8,2)");
        assert_eq!(
            pg_cast_type("timestamp(3) without time zone"),
            "timestamp(3) without time zone"
        );
    }

    #[test]
    fn mysql_multi_row_statements() {
        let sql = MY.mysql_statement(OpKind::Upsert, &t(), &["id", "mrn"], 1, 2);
        assert_eq!(sql, "INSERT INTO `clinical`.`patient` (`id`, `mrn`) VALUES (?,?),(?,?) ON DUPLICATE KEY UPDATE `mrn` = VALUES(`mrn`)");
        let sql = MY.mysql_statement(OpKind::Delete, &t(), &["a", "b"], 2, 2);
        assert_eq!(
            sql,
            "DELETE FROM `clinical`.`patient` WHERE (`a`, `b`) IN ((?,?),(?,?))"
        );
        let sql = MY.mysql_statement(OpKind::Update, &t(), &["id", "mrn"], 1, 1);
        assert_eq!(
            sql,
            "UPDATE `clinical`.`patient` SET `mrn` = ? WHERE `id` = ?"
        );
    }

    #[test]
    fn created_tables_declare_keys_and_nullability() {
        let id = ColumnSpec {
            kind: ColumnKind::Text,
            optional: false,
        };
        let note = ColumnSpec {
            kind: ColumnKind::Json,
            optional: true,
        };
        assert_eq!(
            MY.create_table(&t(), &[("id", &id), ("note", &note)], &["id"]),
            "CREATE TABLE IF NOT EXISTS `clinical`.`patient` (`id` VARCHAR(256) NOT NULL, `note` JSON, PRIMARY KEY (`id`))"
        );
        assert_eq!(
            PG.add_column(&t(), "note", &note),
            "ALTER TABLE \"clinical\".\"patient\" ADD COLUMN IF NOT EXISTS \"note\" JSONB NULL"
        );
    }
}
