//! Kafka helpers of the sink tests: a worker with the sinks and SMTs registered, a producer that
//! spreads keyed records over partitions, and a connector's committed offsets.

use std::time::Duration;

use connect_core::config::Props;
use connect_core::rdkafka::consumer::{BaseConsumer, Consumer};
use connect_core::rdkafka::producer::{
    BaseRecord, DefaultProducerContext, Producer, ThreadedProducer,
};
use connect_core::rdkafka::{ClientConfig, Offset, TopicPartitionList};
use connect_core::registry::Registry;
use connect_core::runtime::Worker;

/// A worker on the embedded cluster with every sink and SMT registered, offsets flushed every
/// 200 ms, and `props` over that.
pub async fn worker(props: &[(&str, &str)]) -> Worker {
    let mut registry = Registry::with_builtins();
    connect_sinks::register(&mut registry);
    connect_smt::register(&mut registry);
    let mut p = Props::new().with("offset.flush.interval.ms", "200");
    for (k, v) in props {
        p.set(*k, *v);
    }
    Worker::start(p, registry).await.unwrap()
}

/// Produces keyed records, each to the partition librdkafka's partitioner picks for its key, so
/// one key's records stay in order in one partition. An empty value is a tombstone (no value).
pub fn produce_keyed(bootstrap: &str, topic: &str, records: &[(Vec<u8>, Vec<u8>)]) {
    let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    for (k, v) in records {
        let mut r = BaseRecord::to(topic).key(k.as_slice());
        if !v.is_empty() {
            r = r.payload(v.as_slice());
        }
        loop {
            match p.send(r) {
                Ok(()) => break,
                Err((_, back)) => {
                    r = back;
                    p.poll(Duration::from_millis(10));
                }
            }
        }
    }
    p.flush(Duration::from_secs(30)).unwrap();
}

/// The committed offsets of `connector`'s consumer group on partitions `0..partitions` (0 when none).
pub fn committed(bootstrap: &str, connector: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("connect-{connector}"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = c.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    (0..partitions)
        .map(|p| match got.find_partition(topic, p).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => o,
            _ => 0,
        })
        .collect()
}
