//! Transaction metadata (`provide.transaction.metadata=true`), as Debezium's transaction monitor
//! gives it: each change event of a transaction carries the `event.block` (`id`, `total_order`,
//! `data_collection_order`), and `<topic.prefix>.<topic.transaction>` receives a `BEGIN` record before
//! the first captured change of a transaction and an `END` record with the event count per table
//! after its commit. Transactions without a captured change produce neither.

use std::sync::Arc;

use connect_core::data::{Schema, SchemaBuilder, Struct, Value};
use connect_core::record::{ConnectRecord, OffsetMap, SourceOffset, SourceRecord};

/// Counts of one transaction in progress.
#[derive(Debug, Clone, Default)]
pub struct TxCounter {
    id: String,
    total: i64,
    /// Per data collection (`db.table`), in first-seen order; a transaction touches few tables.
    per_collection: Vec<(String, i64)>,
}

impl TxCounter {
    /// A transaction with Debezium's id (MySQL: the GTID, else `file=…,pos=…`).
    pub fn new(id: String) -> Self {
        TxCounter {
            id,
            ..Default::default()
        }
    }

    /// The transaction id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether no captured event was counted yet (the `BEGIN` record is still due).
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Counts one event of `collection`; returns `(total_order, data_collection_order)`, both from 1.
    pub fn next(&mut self, collection: &str) -> (i64, i64) {
        self.total += 1;
        let n = match self
            .per_collection
            .iter_mut()
            .find(|(c, _)| c == collection)
        {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                self.per_collection.push((collection.to_owned(), 1));
                1
            }
        };
        (self.total, n)
    }
}

/// Builds the `BEGIN`/`END` records of one connector.
#[derive(Debug, Clone)]
pub struct TransactionTopic {
    topic: String,
    key: Schema,
    value: Schema,
    collection: Schema,
}

impl TransactionTopic {
    /// Records on `<topic_prefix>.<suffix>` (Debezium's `topic.transaction`, default `transaction`).
    pub fn new(topic_prefix: &str, suffix: &str) -> Self {
        let collection = SchemaBuilder::struct_()
            .name("event.collection")
            .version(1)
            .optional()
            .field("data_collection", Schema::string())
            .field("event_count", Schema::int64())
            .build();
        TransactionTopic {
            topic: format!("{topic_prefix}.{suffix}"),
            key: SchemaBuilder::struct_()
                .name("io.debezium.connector.common.TransactionMetadataKey")
                .version(1)
                .field("id", Schema::string())
                .build(),
            value: SchemaBuilder::struct_()
                .name("io.debezium.connector.common.TransactionMetadataValue")
                .version(1)
                .field("status", Schema::string())
                .field("id", Schema::string())
                .field("event_count", Schema::optional_int64())
                .field(
                    "data_collections",
                    SchemaBuilder::array(collection.clone()).optional().build(),
                )
                .field("ts_ms", Schema::int64())
                .build(),
            collection,
        }
    }

    /// The topic the records go to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The `BEGIN` record of `tx`, with the offset a restart at it would resume from.
    pub fn begin(
        &self,
        tx: &TxCounter,
        ts_ms: i64,
        partition: &Arc<OffsetMap>,
        offset: SourceOffset,
    ) -> SourceRecord {
        self.record(tx, false, ts_ms, partition, offset)
    }

    /// The `END` record of `tx`: its event count, in total and per table.
    pub fn end(
        &self,
        tx: &TxCounter,
        ts_ms: i64,
        partition: &Arc<OffsetMap>,
        offset: SourceOffset,
    ) -> SourceRecord {
        self.record(tx, true, ts_ms, partition, offset)
    }

    fn record(
        &self,
        tx: &TxCounter,
        end: bool,
        ts_ms: i64,
        partition: &Arc<OffsetMap>,
        offset: SourceOffset,
    ) -> SourceRecord {
        let (status, count, collections) = if end {
            let collections = tx
                .per_collection
                .iter()
                .map(|(c, n)| {
                    let mut s = Struct::new(self.collection.clone());
                    s.put_index_unchecked(0, Value::String(c.clone()));
                    s.put_index_unchecked(1, Value::Int64(*n));
                    Value::Struct(s)
                })
                .collect();
            ("END", Value::Int64(tx.total), Value::Array(collections))
        } else {
            ("BEGIN", Value::Null, Value::Null)
        };
        let mut key = Struct::new(self.key.clone());
        key.put_index_unchecked(0, Value::String(tx.id.clone()));
        let mut value = Struct::new(self.value.clone());
        value.put_index_unchecked(0, Value::String(status.to_owned()));
        value.put_index_unchecked(1, Value::String(tx.id.clone()));
        value.put_index_unchecked(2, count);
        value.put_index_unchecked(3, collections);
        value.put_index_unchecked(4, Value::Int64(ts_ms));
        SourceRecord {
            record: ConnectRecord {
                topic: self.topic.clone(),
                key_schema: Some(self.key.clone()),
                key: Value::Struct(key),
                value_schema: Some(self.value.clone()),
                value: Value::Struct(value),
                timestamp: Some(ts_ms),
                ..Default::default()
            },
            source_partition: partition.clone(),
            source_offset: offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_count_per_table_and_end_lists_them() {
        let mut tx = TxCounter::new("0-1-7".into());
        assert!(tx.is_empty());
        assert_eq!(tx.next("patients.patient"), (1, 1));
        assert_eq!(tx.next("encounters.encounter"), (2, 1));
        assert_eq!(tx.next("patients.patient"), (3, 2));
        let t = TransactionTopic::new("clinical", "transaction");
        assert_eq!(t.topic(), "clinical.transaction");
        let p = Arc::new(OffsetMap::new());
        let begin = t.begin(&tx, 5, &p, SourceOffset::default());
        let v = begin.record.value.as_struct().unwrap();
        v.validate().unwrap();
        assert_eq!(v.get("status").and_then(Value::as_str), Some("BEGIN"));
        assert_eq!(v.get("event_count"), Some(&Value::Null));
        let end = t.end(&tx, 6, &p, SourceOffset::default());
        let v = end.record.value.as_struct().unwrap();
        v.validate().unwrap();
        assert_eq!(v.get("event_count"), Some(&Value::Int64(3)));
        let Some(Value::Array(cs)) = v.get("data_collections") else {
            panic!("data_collections")
        };
        let counts: Vec<(String, i64)> = cs
            .iter()
            .map(|c| {
                let c = c.as_struct().unwrap();
                (
                    c.get("data_collection")
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    c.get("event_count").and_then(Value::as_i64).unwrap(),
                )
            })
            .collect();
        assert_eq!(
            counts,
            [
                ("patients.patient".to_owned(), 2),
                ("encounters.encounter".to_owned(), 1)
            ]
        );
        let key = end.record.key.as_struct().unwrap();
        assert_eq!(key.get("id").and_then(Value::as_str), Some("0-1-7"));
    }
}
