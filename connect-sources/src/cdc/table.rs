//! The relational model the CDC connectors keep per captured table (columns in order, primary key),
//! and its form in Debezium's `tableChanges` (schema history records and schema change events).

use connect_core::data::{Schema, SchemaBuilder, Struct, Value};
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

/// The Connect schemas of one `tableChanges` item in a schema change event
/// (`io.debezium.connector.schema.Change`, with its `Table` and `Column` structs), as Debezium's
/// connectors declare them; built once per connector.
#[derive(Debug, Clone)]
pub struct ChangeSchemas {
    /// `io.debezium.connector.schema.Change`: the array item of `tableChanges`.
    pub change: Schema,
    table: Schema,
    column: Schema,
}

impl Default for ChangeSchemas {
    fn default() -> Self {
        Self::new()
    }
}

impl ChangeSchemas {
    /// Debezium's schemas.
    pub fn new() -> Self {
        let strings = || SchemaBuilder::array(Schema::string()).optional().build();
        let column = SchemaBuilder::struct_()
            .name("io.debezium.connector.schema.Column")
            .version(1)
            .field("name", Schema::string())
            .field("jdbcType", Schema::int32())
            .field("nativeType", Schema::optional_int32())
            .field("typeName", Schema::string())
            .field("typeExpression", Schema::optional_string())
            .field("charsetName", Schema::optional_string())
            .field("length", Schema::optional_int32())
            .field("scale", Schema::optional_int32())
            .field("position", Schema::int32())
            .field("optional", Schema::optional_boolean())
            .field("autoIncremented", Schema::optional_boolean())
            .field("generated", Schema::optional_boolean())
            .field("comment", Schema::optional_string())
            .field("defaultValueExpression", Schema::optional_string())
            .field("enumValues", strings())
            .build();
        let table = SchemaBuilder::struct_()
            .name("io.debezium.connector.schema.Table")
            .version(1)
            .optional()
            .field("defaultCharsetName", Schema::optional_string())
            .field("primaryKeyColumnNames", strings())
            .field("columns", SchemaBuilder::array(column.clone()).build())
            .field("comment", Schema::optional_string())
            .build();
        let change = SchemaBuilder::struct_()
            .name("io.debezium.connector.schema.Change")
            .version(1)
            .field("type", Schema::string())
            .field("id", Schema::string())
            .field("table", table.clone())
            .build();
        ChangeSchemas {
            change,
            table,
            column,
        }
    }
}

fn opt_string(s: &Option<String>) -> Value {
    s.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

fn opt_i32(n: Option<i32>) -> Value {
    n.map_or(Value::Null, Value::Int32)
}

fn string_array(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::String).collect())
}

impl TableChange {
    /// The Connect struct of this change for a schema change event's `tableChanges`.
    pub fn to_struct(&self, schemas: &ChangeSchemas) -> Struct {
        let columns = self
            .table
            .columns
            .iter()
            .map(|c| {
                let mut s = Struct::new(schemas.column.clone());
                let values = [
                    Value::String(c.name.clone()),
                    Value::Int32(c.jdbc_type),
                    Value::Null,
                    Value::String(c.type_name.clone()),
                    Value::String(
                        c.type_expression
                            .clone()
                            .unwrap_or_else(|| c.type_name.clone()),
                    ),
                    opt_string(&c.charset),
                    opt_i32(c.length),
                    opt_i32(c.scale),
                    Value::Int32(c.position),
                    Value::Boolean(c.optional),
                    Value::Boolean(c.auto_incremented),
                    Value::Boolean(c.generated),
                    opt_string(&c.comment),
                    opt_string(&c.default_expression),
                    string_array(&c.enum_values),
                ];
                for (i, v) in values.into_iter().enumerate() {
                    s.put_index_unchecked(i, v);
                }
                Value::Struct(s)
            })
            .collect();
        let mut table = Struct::new(schemas.table.clone());
        table.put_index_unchecked(0, opt_string(&self.table.default_charset));
        table.put_index_unchecked(1, string_array(&self.table.primary_key));
        table.put_index_unchecked(2, Value::Array(columns));
        table.put_index_unchecked(3, opt_string(&self.table.comment));
        let mut change = Struct::new(schemas.change.clone());
        change.put_index_unchecked(0, Value::String(self.kind.as_str().to_owned()));
        change.put_index_unchecked(1, Value::String(self.id.quoted()));
        change.put_index_unchecked(2, Value::Struct(table));
        change
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn change_structs_are_valid_in_debeziums_schema() {
        let schemas = ChangeSchemas::new();
        let change = TableChange {
            kind: ChangeType::Alter,
            id: TableId {
                db: "patients".into(),
                table: "patient".into(),
            },
            table: TableDef {
                columns: vec![ColumnDef {
                    name: "id".into(),
                    type_name: "INT".into(),
                    jdbc_type: 4,
                    position: 1,
                    enum_values: vec![],
                    ..ColumnDef::default()
                }],
                primary_key: vec!["id".into()],
                ..TableDef::default()
            },
        };
        let s = change.to_struct(&schemas);
        s.validate().unwrap();
        assert_eq!(
            s.schema().name(),
            Some("io.debezium.connector.schema.Change")
        );
        assert_eq!(
            s.get("id").and_then(Value::as_str),
            Some("\"patients\".\"patient\"")
        );
        let table = s.get("table").and_then(Value::as_struct).unwrap();
        assert_eq!(
            table.schema().name(),
            Some("io.debezium.connector.schema.Table")
        );
    }

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
