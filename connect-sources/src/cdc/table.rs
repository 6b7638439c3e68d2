//! The relational model the CDC connectors keep per captured table (columns in order, primary key),
//! and its form in Debezium's `tableChanges` (schema history records and schema change events).

use serde_json::{json, Map, Value as Json};

/// A table's identity: database (or catalog/schema) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    /// Database (MySQL) or schema (PostgreSQL).
    pub db: String,
    /// Table name.
    pub table: String,
}

impl TableId {
    /// A table id.
    pub fn new(db: impl Into<String>, table: impl Into<String>) -> Self {
        TableId {
            db: db.into(),
            table: table.into(),
        }
    }
    /// `db.table`, as include lists and topics spell it.
    pub fn dotted(&self) -> String {
        format!("{}.{}", self.db, self.table)
    }
    /// Debezium's quoted id in `tableChanges`: `"db"."table"`.
    pub fn quoted(&self) -> String {
        format!("\"{}\".\"{}\"", self.db, self.table)
    }
    /// Parses Debezium's quoted or dotted form.
    pub fn parse(id: &str) -> Option<TableId> {
        let parts: Vec<String> = if id.starts_with('"') {
            id.split("\".\"")
                .map(|p| p.trim_matches('"').to_owned())
                .collect()
        } else {
            id.splitn(2, '.').map(str::to_owned).collect()
        };
        match parts.as_slice() {
            [db, t] => Some(TableId::new(db.clone(), t.clone())),
            _ => None,
        }
    }
}

impl std::fmt::Display for TableId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.db, self.table)
    }
}

/// One column, as Debezium's history records describe it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnDef {
    /// Column name.
    pub name: String,
    /// The type's name, upper case (`INT UNSIGNED`, `VARCHAR`, `DECIMAL`, `ENUM`).
    pub type_name: String,
    /// The type as declared (`varchar(20)`), for documentation.
    pub type_expression: Option<String>,
    /// `java.sql.Types` code.
    pub jdbc_type: i32,
    /// Length or precision (`VARCHAR(20)`: 20, `DECIMAL(10,2)`: 10, `DATETIME(3)`: 3, `BIT(5)`: 5).
    pub length: Option<i32>,
    /// Scale (`DECIMAL(10,2)`: 2).
    pub scale: Option<i32>,
    /// 1-based position.
    pub position: i32,
    /// Nullable.
    pub optional: bool,
    /// AUTO_INCREMENT.
    pub auto_incremented: bool,
    /// A generated column.
    pub generated: bool,
    /// Character set of a character column.
    pub charset: Option<String>,
    /// ENUM and SET members, in order.
    pub enum_values: Vec<String>,
    /// The default value's SQL text, if any.
    pub default_expression: Option<String>,
    /// Column comment.
    pub comment: Option<String>,
}

/// A table's definition.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableDef {
    /// Columns in order.
    pub columns: Vec<ColumnDef>,
    /// Primary key column names, in key order (empty: no primary key).
    pub primary_key: Vec<String>,
    /// The table's default character set.
    pub default_charset: Option<String>,
    /// Table comment.
    pub comment: Option<String>,
}

impl TableDef {
    /// The column with this name (case-insensitive, as MySQL column names are).
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }
    /// Renumbers positions after a change.
    pub fn renumber(&mut self) {
        for (i, c) in self.columns.iter_mut().enumerate() {
            c.position = i as i32 + 1;
        }
    }
}

/// The kind of a `tableChanges` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    /// `CREATE`.
    Create,
    /// `ALTER`.
    Alter,
    /// `DROP`.
    Drop,
}

impl ChangeType {
    fn as_str(self) -> &'static str {
        match self {
            ChangeType::Create => "CREATE",
            ChangeType::Alter => "ALTER",
            ChangeType::Drop => "DROP",
        }
    }
}

/// One entry of `tableChanges`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableChange {
    /// What happened.
    pub kind: ChangeType,
    /// Which table.
    pub id: TableId,
    /// The table as it is after the change (the last definition for DROP).
    pub table: TableDef,
}

impl TableChange {
    /// Debezium's JSON form (as in the schema history topic).
    pub fn to_json(&self) -> Json {
        let cols: Vec<Json> = self
            .table
            .columns
            .iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "jdbcType": c.jdbc_type,
                    "typeName": c.type_name,
                    "typeExpression": c.type_expression.clone().unwrap_or_else(|| c.type_name.clone()),
                    "charsetName": c.charset,
                    "length": c.length,
                    "scale": c.scale,
                    "position": c.position,
                    "optional": c.optional,
                    "autoIncremented": c.auto_incremented,
                    "generated": c.generated,
                    "comment": c.comment,
                    "hasDefaultValue": c.default_expression.is_some(),
                    "defaultValueExpression": c.default_expression,
                    "enumValues": c.enum_values,
                })
            })
            .collect();
        json!({
            "type": self.kind.as_str(),
            "id": self.id.quoted(),
            "table": {
                "defaultCharsetName": self.table.default_charset,
                "primaryKeyColumnNames": self.table.primary_key,
                "columns": cols,
                "comment": self.table.comment,
                "attributes": [],
            },
            "comment": Json::Null,
        })
    }

    /// Reads Debezium's JSON form; None when it is not one.
    pub fn from_json(v: &Json) -> Option<TableChange> {
        let o = v.as_object()?;
        let kind = match o.get("type")?.as_str()? {
            "CREATE" => ChangeType::Create,
            "ALTER" => ChangeType::Alter,
            "DROP" => ChangeType::Drop,
            _ => return None,
        };
        let id = TableId::parse(o.get("id")?.as_str()?)?;
        let t = o.get("table").and_then(Json::as_object);
        let mut table = TableDef::default();
        if let Some(t) = t {
            table.default_charset = str_of(t, "defaultCharsetName");
            table.comment = str_of(t, "comment");
            table.primary_key = t
                .get("primaryKeyColumnNames")
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            for c in t
                .get("columns")
                .and_then(Json::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                let c = c.as_object()?;
                table.columns.push(ColumnDef {
                    name: str_of(c, "name")?,
                    type_name: str_of(c, "typeName")?,
                    type_expression: str_of(c, "typeExpression"),
                    jdbc_type: int_of(c, "jdbcType").unwrap_or(1111),
                    length: int_of(c, "length"),
                    scale: int_of(c, "scale"),
                    position: int_of(c, "position").unwrap_or(0),
                    optional: c.get("optional").and_then(Json::as_bool).unwrap_or(true),
                    auto_incremented: c
                        .get("autoIncremented")
                        .and_then(Json::as_bool)
                        .unwrap_or(false),
                    generated: c.get("generated").and_then(Json::as_bool).unwrap_or(false),
                    charset: str_of(c, "charsetName"),
                    enum_values: c
                        .get("enumValues")
                        .and_then(Json::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| s.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                    default_expression: str_of(c, "defaultValueExpression"),
                    comment: str_of(c, "comment"),
                });
            }
        }
        Some(TableChange { kind, id, table })
    }
}

fn str_of(o: &Map<String, Json>, k: &str) -> Option<String> {
    o.get(k).and_then(Json::as_str).map(str::to_owned)
}

fn int_of(o: &Map<String, Json>, k: &str) -> Option<i32> {
    o.get(k)
        .and_then(Json::as_i64)
        .and_then(|n| i32::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_change_round_trips_through_debezium_json() {
        let change = TableChange {
            kind: ChangeType::Create,
            id: TableId::new("patients", "patient"),
            table: TableDef {
                columns: vec![ColumnDef {
                    name: "id".into(),
                    type_name: "INT".into(),
                    type_expression: Some("INT".into()),
                    jdbc_type: 4,
                    position: 1,
                    optional: false,
                    auto_incremented: true,
                    ..Default::default()
                }],
                primary_key: vec!["id".into()],
                default_charset: Some("utf8mb4".into()),
                comment: None,
            },
        };
        let j = change.to_json();
        assert_eq!(j["id"], "\"patients\".\"patient\"");
        assert_eq!(TableChange::from_json(&j), Some(change));
    }
}
