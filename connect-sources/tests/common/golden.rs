//! Type-family goldens: one row of every column type, written from Debezium's documentation, checked
//! field by field against what a CDC connector emitted (JsonConverter with schemas).

use connect_test_support::Stored;
use serde_json::Value as Json;

/// Checks each record's `after` schema and values against `golden` (`{"columns": {name: {"schema",
/// "value" | "json"}}}`; `json` columns hold JSON text and are compared as the JSON they hold).
/// `id` differs per record and is checked against `ids`; `phases` names the records in messages.
pub fn assert_matches(
    records: &[Stored],
    golden: &Json,
    envelope: &str,
    ids: &[i64],
    phases: &[&str],
) {
    let golden = golden["columns"]
        .as_object()
        .expect("a golden with columns");
    assert_eq!(records.len(), ids.len(), "one record per id");
    for (i, rec) in records.iter().enumerate() {
        let phase = phases[i];
        let v: Json = serde_json::from_slice(rec.payload()).expect("a JSON value");
        assert_eq!(v["schema"]["name"], envelope, "{phase}");
        assert_eq!(v["schema"]["version"], 2, "{phase}");
        let after = &v["payload"]["after"];
        let fields = v["schema"]["fields"][1]["fields"]
            .as_array()
            .expect("the after schema's fields");
        let names: Vec<&str> = fields.iter().filter_map(|f| f["field"].as_str()).collect();
        let expected: Vec<&str> = golden.keys().map(String::as_str).collect();
        assert_eq!(
            names, expected,
            "one field per column, in table order ({phase})"
        );
        for (column, expected) in golden {
            let field = fields
                .iter()
                .find(|f| f["field"] == column.as_str())
                .unwrap();
            assert_eq!(field, &expected["schema"], "schema of {column} ({phase})");
            if let Some(doc) = expected.get("json") {
                let text = after[column]
                    .as_str()
                    .unwrap_or_else(|| panic!("{column} as text ({phase})"));
                let parsed: Json = serde_json::from_str(text).expect("JSON text");
                assert_eq!(&parsed, doc, "{column} ({phase})");
            } else if column == "id" {
                assert_eq!(after["id"], ids[i], "{phase}");
            } else {
                assert_eq!(
                    after[column], expected["value"],
                    "value of {column} ({phase})"
                );
            }
        }
    }
}
