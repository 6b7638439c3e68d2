//! A bulk answer read item by item: each action succeeded, is to be retried alone, was malformed, or
//! failed otherwise.

use serde::Deserialize;

use super::encoder::Op;

/// What became of one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written (or deleted, or already absent).
    Done,
    /// A newer version is stored already (external versioning): nothing to do.
    Conflict,
    /// The server was busy (429, 503, rejected execution): to be retried alone.
    Retry,
    /// The document does not fit the index (a mapping or parsing error).
    Malformed {
        /// The server's error type, e.g. `mapper_parsing_exception`.
        kind: String,
        /// The server's reason: it may quote the document, so it is shown only when
        /// `errors.log.include.messages=true`.
        reason: String,
    },
    /// Any other failure.
    Failed {
        /// HTTP status of the item.
        status: u16,
        /// The server's error type.
        kind: String,
        /// The server's reason (may quote the document).
        reason: String,
    },
}

/// The error types Confluent's sink treats as malformed documents.
pub const MALFORMED_KINDS: &[&str] = &[
    "mapper_parsing_exception",
    "strict_dynamic_mapping_exception",
    "illegal_argument_exception",
    "document_parsing_exception",
    "action_request_validation_exception",
];

#[derive(Deserialize)]
struct Bulk {
    #[serde(default)]
    errors: bool,
    items: Vec<std::collections::HashMap<String, ItemResult>>,
}

#[derive(Deserialize)]
struct ItemResult {
    status: u16,
    #[serde(default)]
    error: Option<ItemError>,
}

#[derive(Deserialize)]
struct ItemError {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    reason: Option<String>,
}

/// Why a bulk answer could not be read (the whole request is then retried).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadAnswer {
    /// Not the bulk answer's JSON.
    #[error("the bulk answer is not JSON of the bulk API: {0}")]
    NotBulk(String),
    /// Item count differs from the actions sent.
    #[error("the bulk answer has {got} items for {sent} actions")]
    Count {
        /// Actions sent.
        sent: usize,
        /// Items answered.
        got: usize,
    },
}

/// Reads a bulk answer for the `ops` sent, in order.
pub fn read(body: &[u8], ops: &[(Op, bool)]) -> Result<Vec<Outcome>, BadAnswer> {
    let bulk: Bulk = serde_json::from_slice(body).map_err(|e| BadAnswer::NotBulk(e.to_string()))?;
    if bulk.items.len() != ops.len() {
        return Err(BadAnswer::Count {
            sent: ops.len(),
            got: bulk.items.len(),
        });
    }
    if !bulk.errors {
        // Deletes of absent documents answer 404 with errors=false.
        return Ok(vec![Outcome::Done; ops.len()]);
    }
    Ok(bulk
        .items
        .into_iter()
        .zip(ops)
        .map(|(item, &(op, versioned))| {
            let Some(r) = item.into_values().next() else {
                return Outcome::Failed {
                    status: 0,
                    kind: "empty item".into(),
                    reason: String::new(),
                };
            };
            classify(r, op, versioned)
        })
        .collect())
}

fn classify(r: ItemResult, op: Op, versioned: bool) -> Outcome {
    let (kind, reason) = match r.error {
        Some(e) => (e.kind, e.reason.unwrap_or_default()),
        None => (String::new(), String::new()),
    };
    match r.status {
        200..=299 => Outcome::Done,
        404 if op == Op::Delete && kind.is_empty() => Outcome::Done,
        409 if versioned && kind == "version_conflict_engine_exception" => Outcome::Conflict,
        429 | 503 => Outcome::Retry,
        _ if kind.contains("rejected_execution") => Outcome::Retry,
        _ if MALFORMED_KINDS.contains(&kind.as_str()) => Outcome::Malformed { kind, reason },
        status => Outcome::Failed {
            status,
            kind,
            reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_classified_one_by_one() {
        // Shapes as osmem-server and OpenSearch answer them.
        let body = br#"{"errors":true,"took":1,"items":[
          {"index":{"_id":"1","status":201,"result":"created"}},
          {"index":{"_id":"2","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[2]: version conflict"}}},
          {"index":{"_id":"3","status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},
          {"index":{"_id":"4","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [a]. Preview of field's value: 'x'"}}},
          {"delete":{"_id":"5","status":404,"result":"not_found"}},
          {"index":{"_id":"6","status":500,"error":{"type":"rejected_execution_exception","reason":"busy"}}},
          {"index":{"_id":"7","status":404,"error":{"type":"index_not_found_exception","reason":"no such index"}}},
          {"update":{"_id":"8","status":409,"error":{"type":"version_conflict_engine_exception","reason":"c"}}}
        ]}"#;
        let ops = [
            (Op::Index, true),
            (Op::Index, true),
            (Op::Index, true),
            (Op::Index, true),
            (Op::Delete, true),
            (Op::Index, true),
            (Op::Index, true),
            (Op::Update, false),
        ];
        let got = read(body, &ops).unwrap();
        assert_eq!(got[0], Outcome::Done);
        assert_eq!(got[1], Outcome::Conflict);
        assert_eq!(got[2], Outcome::Retry);
        assert!(
            matches!(&got[3], Outcome::Malformed { kind, .. } if kind == "mapper_parsing_exception")
        );
        assert_eq!(got[4], Outcome::Done);
        assert_eq!(got[5], Outcome::Retry);
        assert!(matches!(&got[6], Outcome::Failed { status: 404, .. }));
        assert!(
            matches!(&got[7], Outcome::Failed { status: 409, .. }),
            "an unversioned conflict is a failure"
        );
    }

    #[test]
    fn answers_that_do_not_match_the_request_are_refused() {
        assert!(matches!(
            read(b"<html>", &[(Op::Index, false)]),
            Err(BadAnswer::NotBulk(_))
        ));
        assert_eq!(
            read(br#"{"errors":false,"items":[]}"#, &[(Op::Index, false)]),
            Err(BadAnswer::Count { sent: 1, got: 0 })
        );
    }
}
