//! The OpenSearch peer starts, indexes through `_bulk` with per-item statuses, and reads back.

use connect_test_support::OpenSearch;
use serde_json::json;

#[test]
fn osmem_server_indexes_and_reads_back() {
    let os = OpenSearch::start();
    let doc = os
        .request("PUT", "/p/_doc/1?refresh=true", Some(&json!({"a": 1})))
        .unwrap();
    assert_eq!(doc["result"], "created");
    assert_eq!(os.document("p", "1"), Some(json!({"a": 1})));
    assert_eq!(os.document("p", "2"), None);
    let all = os.documents("p");
    assert_eq!(all, vec![("1".to_owned(), 1, json!({"a": 1}))]);
}
