//! DDL from the binlog (and from `SHOW CREATE TABLE` at snapshot time) applied to the connector's table
//! definitions, with sqlparser's MySQL dialect. Column types are read from the declared type text, so
//! every MySQL/MariaDB spelling of a type maps the same way.

use std::collections::BTreeMap;

use sqlparser::ast::{
    AlterTableOperation, ColumnOption, MySQLColumnPosition, ObjectName, ObjectType,
    RenameTableNameKind, Statement, TableConstraint,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use crate::cdc::table::{ChangeType, ColumnDef, TableChange, TableDef, TableId};

/// The definitions the connector knows, by table.
pub type Tables = BTreeMap<TableId, TableDef>;

/// Why a DDL statement could not be applied. Carries the statement's kind and the table, never its
/// text (DDL can hold default values or comments with patient data).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DdlError {
    /// The statement changes tables but did not parse.
    #[error("a {kind} statement could not be parsed ({reason})")]
    Unparseable {
        /// CREATE TABLE, ALTER TABLE, ...
        kind: String,
        /// The parser's reason (positions, expected tokens).
        reason: String,
    },
    /// The statement refers to a column the definition does not have.
    #[error("{statement} on {table}: column '{column}' is not in the known definition")]
    UnknownColumn {
        /// ALTER TABLE.
        statement: &'static str,
        /// The table.
        table: String,
        /// The column name.
        column: String,
    },
}

/// What a statement did to the captured tables.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A table was created, altered, dropped or renamed: its history entry.
    Changed(TableChange),
    /// A table was truncated.
    Truncated(TableId),
}

fn table_kind(ddl: &str) -> Option<String> {
    let words: Vec<String> = ddl
        .split_whitespace()
        .take(4)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let kind = match (w(0), w(1), w(2)) {
        ("CREATE", "TABLE", _) | ("CREATE", "TEMPORARY", "TABLE") => "CREATE TABLE",
        ("CREATE", "OR", _) if w(3) == "TABLE" => "CREATE TABLE",
        ("ALTER", "TABLE", _) | ("ALTER", "IGNORE", "TABLE") | ("ALTER", "ONLINE", "TABLE") => {
            "ALTER TABLE"
        }
        ("DROP", "TABLE", _) | ("DROP", "TEMPORARY", "TABLE") => "DROP TABLE",
        ("RENAME", "TABLE", _) => "RENAME TABLE",
        ("TRUNCATE", _, _) => "TRUNCATE TABLE",
        _ => return None,
    };
    Some(kind.to_owned())
}

/// Whether a query event's text is DDL that can change table definitions.
pub fn is_table_ddl(sql: &str) -> bool {
    table_kind(strip_comments(sql)).is_some()
}

fn strip_comments(sql: &str) -> &str {
    let mut s = sql.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("/*") {
            // MariaDB's executable comments (/*!40000 ... */) are not DDL we track.
            match rest.find("*/") {
                Some(end) => s = rest[end + 2..].trim_start(),
                None => return s,
            }
        } else if s.starts_with("--") || s.starts_with('#') {
            match s.find('\n') {
                Some(end) => s = s[end + 1..].trim_start(),
                None => return "",
            }
        } else {
            return s;
        }
    }
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2
        && ((s.starts_with('`') && s.ends_with('`')) || (s.starts_with('"') && s.ends_with('"')))
    {
        s[1..s.len() - 1].replace("``", "`")
    } else {
        s.to_owned()
    }
}

fn table_id(name: &ObjectName, default_db: &str) -> TableId {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p.as_ident() {
            Some(i) => i.value.clone(),
            None => unquote(&p.to_string()),
        })
        .collect();
    match parts.as_slice() {
        [db, t] => TableId::new(db.clone(), t.clone()),
        [.., t] => TableId::new(default_db, t.clone()),
        [] => TableId::new(default_db, ""),
    }
}

/// A declared type, split: `INT(11) UNSIGNED` -> ("INT", ["11"], unsigned).
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredType {
    /// Base name, upper case, synonyms folded (`INTEGER` -> `INT`, `BOOL` -> `BOOLEAN`).
    pub base: String,
    /// The parenthesised arguments (quotes removed for ENUM and SET members).
    pub args: Vec<String>,
    /// UNSIGNED (or ZEROFILL, which implies it).
    pub unsigned: bool,
}

/// Splits a type's text.
pub fn parse_type(text: &str) -> DeclaredType {
    let upper = text.trim();
    let (head, args, tail) = match upper.find('(') {
        Some(open) => {
            let close = matching_paren(upper, open).unwrap_or(upper.len());
            (
                &upper[..open],
                split_args(&upper[open + 1..close.min(upper.len())]),
                upper.get(close + 1..).unwrap_or(""),
            )
        }
        None => (upper, vec![], ""),
    };
    let mut words: Vec<String> = head
        .split_whitespace()
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let tail_up = tail.to_ascii_uppercase();
    let mut unsigned = tail_up.contains("UNSIGNED") || tail_up.contains("ZEROFILL");
    words.retain(|w| {
        if w == "UNSIGNED" || w == "ZEROFILL" {
            unsigned = true;
            false
        } else {
            w != "SIGNED"
        }
    });
    let mut base = words.join(" ");
    base = match base.as_str() {
        "INTEGER" => "INT".into(),
        "INT1" => "TINYINT".into(),
        "INT2" => "SMALLINT".into(),
        "INT3" | "MIDDLEINT" => "MEDIUMINT".into(),
        "INT4" => "INT".into(),
        "INT8" => "BIGINT".into(),
        "BOOL" => "BOOLEAN".into(),
        "DEC" | "NUMERIC" | "FIXED" => "DECIMAL".into(),
        "DOUBLE PRECISION" | "FLOAT8" => "DOUBLE".into(),
        "FLOAT4" => "FLOAT".into(),
        "CHARACTER" | "NATIONAL CHAR" | "NCHAR" | "NATIONAL CHARACTER" => "CHAR".into(),
        "CHARACTER VARYING" | "NVARCHAR" | "NATIONAL VARCHAR" | "CHAR VARYING" => "VARCHAR".into(),
        "LONG VARCHAR" | "LONG" => "MEDIUMTEXT".into(),
        "LONG VARBINARY" => "MEDIUMBLOB".into(),
        _ => base,
    };
    let args = if base == "ENUM" || base == "SET" {
        args.iter().map(|a| unquote_sql_string(a)).collect()
    } else {
        args
    };
    DeclaredType {
        base,
        args,
        unsigned,
    }
}

fn matching_paren(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut prev = '\0';
    for (i, c) in s.char_indices().skip_while(|(i, _)| *i < open) {
        match quote {
            Some(q) if c == q && prev != '\\' => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            },
        }
        prev = c;
    }
    None
}

fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => {
                if chars.peek() == Some(&q) {
                    cur.push(c);
                    cur.push(chars.next().unwrap_or(q));
                } else {
                    quote = None;
                    cur.push(c);
                }
            }
            Some(_) if c == '\\' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                cur.push(c);
            }
            None if c == ',' => out.push(std::mem::take(&mut cur).trim().to_owned()),
            None => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    out
}

fn unquote_sql_string(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2 && (s.starts_with('\'') && s.ends_with('\'')) {
        let inner = &s[1..s.len() - 1];
        inner
            .replace("''", "'")
            .replace("\\'", "'")
            .replace("\\\\", "\\")
    } else {
        s.to_owned()
    }
}

/// The `java.sql.Types` code Debezium records for a MySQL type.
pub fn jdbc_type(base: &str) -> i32 {
    match base {
        "BIT" => -7,
        "TINYINT" => -6,
        "SMALLINT" => 5,
        "MEDIUMINT" | "INT" => 4,
        "BIGINT" => -5,
        "FLOAT" => 7,
        "REAL" | "DOUBLE" => 8,
        "DECIMAL" => 3,
        "BOOLEAN" => 16,
        "CHAR" | "ENUM" | "SET" => 1,
        "VARCHAR" => 12,
        "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" | "JSON" => -1,
        "DATE" | "YEAR" => 91,
        "TIME" => 92,
        "DATETIME" => 93,
        "TIMESTAMP" => 2014,
        "BINARY" => -2,
        "VARBINARY" => -3,
        "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => -4,
        _ => 1111,
    }
}

fn column_def(c: &sqlparser::ast::ColumnDef, table_charset: Option<&str>) -> (ColumnDef, bool) {
    let ty_text = c.data_type.to_string();
    let ty = parse_type(&ty_text);
    let mut col = ColumnDef {
        name: c.name.value.clone(),
        type_name: if ty.unsigned {
            format!("{} UNSIGNED", ty.base)
        } else {
            ty.base.clone()
        },
        type_expression: Some(ty_text.clone()),
        jdbc_type: jdbc_type(&ty.base),
        optional: true,
        ..Default::default()
    };
    match ty.base.as_str() {
        "ENUM" | "SET" => col.enum_values = ty.args.clone(),
        _ => {
            col.length = ty.args.first().and_then(|a| a.trim().parse().ok());
            col.scale = ty.args.get(1).and_then(|a| a.trim().parse().ok());
        }
    }
    if matches!(
        ty.base.as_str(),
        "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET"
    ) {
        col.charset = charset_in_type(&ty_text).or_else(|| table_charset.map(str::to_owned));
    }
    let mut primary = false;
    for o in &c.options {
        match &o.option {
            ColumnOption::NotNull => col.optional = false,
            ColumnOption::Null => col.optional = true,
            ColumnOption::Default(e) => col.default_expression = Some(e.to_string()),
            ColumnOption::PrimaryKey(_) => {
                primary = true;
                col.optional = false;
            }
            ColumnOption::CharacterSet(n) => col.charset = Some(unquote(&n.to_string())),
            ColumnOption::Comment(s) => col.comment = Some(s.clone()),
            ColumnOption::Generated { .. } => col.generated = true,
            ColumnOption::DialectSpecific(tokens) => {
                let t: String = tokens
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" ");
                if t.to_ascii_uppercase().contains("AUTO_INCREMENT") {
                    col.auto_incremented = true;
                }
            }
            // MariaDB's JSON is LONGTEXT with CHECK (json_valid(col)).
            ColumnOption::Check(chk)
                if chk.to_string().to_ascii_lowercase().contains("json_valid") =>
            {
                col.type_name = "JSON".into();
                col.jdbc_type = -1;
            }
            _ => {}
        }
    }
    if ty.base == "TIMESTAMP" && col.default_expression.is_none() {
        // MySQL's first TIMESTAMP column is NOT NULL unless declared NULL; nullability comes from the
        // options above.
    }
    (col, primary)
}

fn charset_in_type(ty_text: &str) -> Option<String> {
    let up = ty_text.to_ascii_uppercase();
    let i = up
        .find("CHARACTER SET")
        .map(|i| i + "CHARACTER SET".len())?;
    ty_text[i..]
        .split_whitespace()
        .next()
        .map(|s| unquote(s).to_ascii_lowercase())
}

fn table_charset(ct: &sqlparser::ast::CreateTable) -> Option<String> {
    let text = ct.to_string().to_ascii_uppercase();
    for key in ["DEFAULT CHARSET", "CHARSET", "CHARACTER SET"] {
        // The table options follow the closing parenthesis of the column list.
        if let Some(close) = text.rfind(')') {
            if let Some(i) = text[close..].find(key) {
                let rest = &text[close + i + key.len()..];
                let v = rest
                    .trim_start_matches([' ', '='])
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .next()
                    .unwrap_or("");
                if !v.is_empty() {
                    return Some(unquote(v).to_ascii_lowercase());
                }
            }
        }
    }
    None
}

fn index_columns(cols: &[sqlparser::ast::IndexColumn]) -> Vec<String> {
    cols.iter()
        .map(|c| {
            let t = c.column.expr.to_string();
            // `col`(10) prefix lengths keep the column name.
            let name = t.split('(').next().unwrap_or(&t).to_owned();
            unquote(&name)
        })
        .collect()
}

fn position(cols: &[ColumnDef], pos: &Option<MySQLColumnPosition>) -> usize {
    match pos {
        Some(MySQLColumnPosition::First) => 0,
        Some(MySQLColumnPosition::After(a)) => cols
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(&a.value))
            .map(|i| i + 1)
            .unwrap_or(cols.len()),
        None => cols.len(),
    }
}

/// Applies one DDL statement (run with `default_db` as the current database) to `tables`, returning what
/// changed. Statements that change no table (users, grants, views, procedures) change nothing. A table
/// DDL that does not parse is an error.
pub fn apply(sql: &str, default_db: &str, tables: &mut Tables) -> Result<Vec<Effect>, DdlError> {
    let text = strip_comments(sql);
    let Some(kind) = table_kind(text) else {
        return Ok(vec![]);
    };
    let statements =
        Parser::parse_sql(&MySqlDialect {}, text).map_err(|e| DdlError::Unparseable {
            kind: kind.clone(),
            reason: e.to_string().chars().take(200).collect(),
        })?;
    let mut out = Vec::new();
    for st in statements {
        apply_statement(st, default_db, tables, &mut out)?;
    }
    Ok(out)
}

fn apply_statement(
    st: Statement,
    default_db: &str,
    tables: &mut Tables,
    out: &mut Vec<Effect>,
) -> Result<(), DdlError> {
    match st {
        Statement::CreateTable(ct) => {
            if ct.temporary {
                return Ok(());
            }
            let id = table_id(&ct.name, default_db);
            if ct.if_not_exists && tables.contains_key(&id) {
                return Ok(());
            }
            let def = if let Some(like) = ct.like.as_ref() {
                let like_name = match like {
                    sqlparser::ast::CreateTableLikeKind::Parenthesized(l)
                    | sqlparser::ast::CreateTableLikeKind::Plain(l) => &l.name,
                };
                tables
                    .get(&table_id(like_name, default_db))
                    .cloned()
                    .unwrap_or_default()
            } else {
                let charset = table_charset(&ct);
                let mut def = TableDef {
                    default_charset: charset.clone(),
                    ..Default::default()
                };
                for c in &ct.columns {
                    let (col, primary) = column_def(c, charset.as_deref());
                    if primary {
                        def.primary_key.push(col.name.clone());
                    }
                    def.columns.push(col);
                }
                for k in &ct.constraints {
                    if let TableConstraint::PrimaryKey(pk) = k {
                        def.primary_key = index_columns(&pk.columns);
                    }
                }
                mark_pk_required(&mut def);
                def.renumber();
                def
            };
            tables.insert(id.clone(), def.clone());
            out.push(Effect::Changed(TableChange {
                kind: ChangeType::Create,
                id,
                table: def,
            }));
        }
        Statement::AlterTable(at) => {
            let mut id = table_id(&at.name, default_db);
            let Some(mut def) = tables.get(&id).cloned() else {
                // Not a table we know (not captured, or created before history began).
                return Ok(());
            };
            let charset = def.default_charset.clone();
            for op in at.operations {
                match op {
                    AlterTableOperation::AddColumn {
                        column_def: c,
                        column_position,
                        if_not_exists,
                        ..
                    } => {
                        if if_not_exists && def.column(&c.name.value).is_some() {
                            continue;
                        }
                        let (col, primary) = column_def(&c, charset.as_deref());
                        let at = position(&def.columns, &column_position);
                        if primary {
                            def.primary_key = vec![col.name.clone()];
                        }
                        def.columns.insert(at, col);
                    }
                    AlterTableOperation::DropColumn {
                        column_names,
                        if_exists,
                        ..
                    } => {
                        for n in column_names {
                            let before = def.columns.len();
                            def.columns
                                .retain(|c| !c.name.eq_ignore_ascii_case(&n.value));
                            if before == def.columns.len() && !if_exists {
                                return Err(DdlError::UnknownColumn {
                                    statement: "ALTER TABLE DROP COLUMN",
                                    table: id.to_string(),
                                    column: n.value,
                                });
                            }
                            def.primary_key
                                .retain(|k| !k.eq_ignore_ascii_case(&n.value));
                        }
                    }
                    AlterTableOperation::ModifyColumn {
                        col_name,
                        data_type,
                        options,
                        column_position,
                    } => {
                        let c = column_of(col_name.clone(), data_type, options);
                        replace_column(&mut def, &id, &col_name.value, &c, &column_position)?;
                    }
                    AlterTableOperation::ChangeColumn {
                        old_name,
                        new_name,
                        data_type,
                        options,
                        column_position,
                    } => {
                        let c = column_of(new_name, data_type, options);
                        replace_column(&mut def, &id, &old_name.value, &c, &column_position)?;
                    }
                    AlterTableOperation::RenameColumn {
                        old_column_name,
                        new_column_name,
                    } => {
                        let Some(col) = def
                            .columns
                            .iter_mut()
                            .find(|c| c.name.eq_ignore_ascii_case(&old_column_name.value))
                        else {
                            return Err(DdlError::UnknownColumn {
                                statement: "ALTER TABLE RENAME COLUMN",
                                table: id.to_string(),
                                column: old_column_name.value,
                            });
                        };
                        col.name = new_column_name.value.clone();
                        for k in def.primary_key.iter_mut() {
                            if k.eq_ignore_ascii_case(&old_column_name.value) {
                                *k = new_column_name.value.clone();
                            }
                        }
                    }
                    AlterTableOperation::AddConstraint {
                        constraint: TableConstraint::PrimaryKey(pk),
                        ..
                    } => def.primary_key = index_columns(&pk.columns),
                    AlterTableOperation::DropPrimaryKey { .. } => def.primary_key.clear(),
                    AlterTableOperation::RenameTable { table_name } => {
                        let (RenameTableNameKind::As(n) | RenameTableNameKind::To(n)) = table_name;
                        let new_id = table_id(&n, &id.db);
                        tables.remove(&id);
                        out.push(Effect::Changed(TableChange {
                            kind: ChangeType::Drop,
                            id: id.clone(),
                            table: def.clone(),
                        }));
                        id = new_id;
                    }
                    _ => {}
                }
            }
            mark_pk_required(&mut def);
            def.renumber();
            tables.insert(id.clone(), def.clone());
            out.push(Effect::Changed(TableChange {
                kind: ChangeType::Alter,
                id,
                table: def,
            }));
        }
        Statement::Drop {
            object_type: ObjectType::Table,
            names,
            ..
        } => {
            for n in names {
                let id = table_id(&n, default_db);
                if let Some(def) = tables.remove(&id) {
                    out.push(Effect::Changed(TableChange {
                        kind: ChangeType::Drop,
                        id,
                        table: def,
                    }));
                }
            }
        }
        Statement::RenameTable(renames) => {
            for r in renames {
                let from = table_id(&r.old_name, default_db);
                let to = table_id(&r.new_name, default_db);
                if let Some(def) = tables.remove(&from) {
                    out.push(Effect::Changed(TableChange {
                        kind: ChangeType::Drop,
                        id: from,
                        table: def.clone(),
                    }));
                    tables.insert(to.clone(), def.clone());
                    out.push(Effect::Changed(TableChange {
                        kind: ChangeType::Create,
                        id: to,
                        table: def,
                    }));
                }
            }
        }
        Statement::Truncate(t) => {
            for target in t.table_names {
                out.push(Effect::Truncated(table_id(&target.name, default_db)));
            }
        }
        _ => {}
    }
    Ok(())
}

fn column_of(
    name: sqlparser::ast::Ident,
    data_type: sqlparser::ast::DataType,
    options: Vec<ColumnOption>,
) -> sqlparser::ast::ColumnDef {
    sqlparser::ast::ColumnDef {
        name,
        data_type,
        options: options
            .into_iter()
            .map(|option| sqlparser::ast::ColumnOptionDef { name: None, option })
            .collect(),
    }
}

fn mark_pk_required(def: &mut TableDef) {
    let pk = def.primary_key.clone();
    for c in def.columns.iter_mut() {
        if pk.iter().any(|k| k.eq_ignore_ascii_case(&c.name)) {
            c.optional = false;
        }
    }
}

fn replace_column(
    def: &mut TableDef,
    id: &TableId,
    old: &str,
    c: &sqlparser::ast::ColumnDef,
    pos: &Option<MySQLColumnPosition>,
) -> Result<(), DdlError> {
    let Some(i) = def
        .columns
        .iter()
        .position(|x| x.name.eq_ignore_ascii_case(old))
    else {
        return Err(DdlError::UnknownColumn {
            statement: "ALTER TABLE MODIFY/CHANGE COLUMN",
            table: id.to_string(),
            column: old.to_owned(),
        });
    };
    let (col, primary) = column_def(c, def.default_charset.as_deref());
    for k in def.primary_key.iter_mut() {
        if k.eq_ignore_ascii_case(old) {
            *k = col.name.clone();
        }
    }
    if primary {
        def.primary_key = vec![col.name.clone()];
    }
    def.columns.remove(i);
    let at = if pos.is_some() {
        position(&def.columns, pos)
    } else {
        i
    };
    def.columns.insert(at, col);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(t: &Tables, db: &str, name: &str) -> Vec<(String, String, bool)> {
        t[&TableId::new(db, name)]
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.type_name.clone(), c.optional))
            .collect()
    }

    #[test]
    fn mariadb_show_create_table_parses() {
        let mut t = Tables::new();
        let ddl = "CREATE TABLE `patient` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `mrn` varchar(20) NOT NULL,\n  `name` varchar(100) CHARACTER SET latin1 COLLATE latin1_swedish_ci DEFAULT NULL,\n  `balance` decimal(10,2) DEFAULT NULL,\n  `status` enum('active','it''s','x') DEFAULT 'active',\n  `flags` set('a','b') DEFAULT NULL,\n  `doc` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`doc`)),\n  `seen` timestamp(3) NOT NULL DEFAULT current_timestamp(3) ON UPDATE current_timestamp(3),\n  `n` bigint(20) unsigned DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `mrn` (`mrn`),\n  KEY `idx_name` (`name`(10))\n) ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci";
        let eff = apply(ddl, "patients", &mut t).unwrap();
        assert_eq!(eff.len(), 1);
        let def = &t[&TableId::new("patients", "patient")];
        assert_eq!(def.primary_key, vec!["id"]);
        assert_eq!(def.default_charset.as_deref(), Some("utf8mb4"));
        let c = |n: &str| def.column(n).unwrap().clone();
        assert!(c("id").auto_incremented);
        assert!(!c("id").optional);
        assert_eq!(c("name").charset.as_deref(), Some("latin1"));
        assert_eq!(c("mrn").charset.as_deref(), Some("utf8mb4"));
        assert_eq!(
            (c("balance").length, c("balance").scale),
            (Some(10), Some(2))
        );
        assert_eq!(c("status").enum_values, vec!["active", "it's", "x"]);
        assert_eq!(c("doc").type_name, "JSON");
        assert_eq!(c("seen").length, Some(3));
        assert_eq!(c("n").type_name, "BIGINT UNSIGNED");
    }

    #[test]
    fn alter_add_drop_modify_change_rename() {
        let mut t = Tables::new();
        apply(
            "CREATE TABLE p (id INT PRIMARY KEY, a INT, b INT)",
            "db",
            &mut t,
        )
        .unwrap();
        apply(
            "ALTER TABLE p ADD COLUMN c VARCHAR(5) NOT NULL AFTER id",
            "db",
            &mut t,
        )
        .unwrap();
        assert_eq!(
            cols(&t, "db", "p")
                .iter()
                .map(|c| c.0.as_str())
                .collect::<Vec<_>>(),
            ["id", "c", "a", "b"]
        );
        apply(
            "ALTER TABLE db.p DROP COLUMN a, MODIFY b BIGINT UNSIGNED NOT NULL",
            "x",
            &mut t,
        )
        .unwrap();
        assert_eq!(
            cols(&t, "db", "p"),
            vec![
                ("id".into(), "INT".into(), false),
                ("c".into(), "VARCHAR".into(), false),
                ("b".into(), "BIGINT UNSIGNED".into(), false)
            ]
        );
        apply(
            "ALTER TABLE p CHANGE c cc TEXT, RENAME COLUMN b TO bb",
            "db",
            &mut t,
        )
        .unwrap();
        assert_eq!(cols(&t, "db", "p")[1].0, "cc");
        assert_eq!(cols(&t, "db", "p")[2].0, "bb");
        let e = apply("RENAME TABLE p TO q", "db", &mut t).unwrap();
        assert_eq!(e.len(), 2);
        assert!(t.contains_key(&TableId::new("db", "q")));
        apply("DROP TABLE IF EXISTS q", "db", &mut t).unwrap();
        assert!(t.is_empty());
        assert!(apply("ALTER TABLE nothing ADD x INT", "db", &mut t)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn non_table_statements_are_ignored_and_broken_table_ddl_is_an_error() {
        let mut t = Tables::new();
        assert!(apply("GRANT ALL ON *.* TO 'x'@'%'", "db", &mut t)
            .unwrap()
            .is_empty());
        assert!(apply("CREATE DATABASE foo", "db", &mut t)
            .unwrap()
            .is_empty());
        let err = apply("CREATE TABLE ( broken", "db", &mut t).unwrap_err();
        assert!(matches!(err, DdlError::Unparseable { .. }));
        assert!(!err.to_string().contains("broken"));
        let e = apply("TRUNCATE TABLE p", "db", &mut t).unwrap();
        assert_eq!(e, vec![Effect::Truncated(TableId::new("db", "p"))]);
    }

    #[test]
    fn type_text_splits() {
        let t = parse_type("INT(11) UNSIGNED ZEROFILL");
        assert_eq!((t.base.as_str(), t.unsigned), ("INT", true));
        assert_eq!(parse_type("ENUM('a','b,c')").args, vec!["a", "b,c"]);
        assert_eq!(parse_type("DOUBLE PRECISION").base, "DOUBLE");
        assert_eq!(parse_type("DECIMAL(10,2)").args, vec!["10", "2"]);
    }
}
