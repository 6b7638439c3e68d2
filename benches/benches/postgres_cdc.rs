//! PostgreSQL CDC throughput against a real PostgreSQL (started by the bench, as the tests do), each
//! contender beside its peer in the same run:
//!
//! * `pg_cdc_stream/*`: change events per second from a logical replication slot to the embedded
//!   Kafka cluster (the connector, JsonConverter without schemas as the seed configures it), against
//!   the bare replication client (pgwire-replication) receiving the same pgoutput stream and decoding
//!   every Insert's columns to text, for a 2-column and a 20-column table; and a floor: the same
//!   client producing each Insert to the embedded Kafka as one fixed record the connector wrote
//!   (keyed by the row's id), so the cost of producing alone is measured beside both.
//! * `pg_cdc_snapshot/*`: snapshot rows per second to the embedded Kafka cluster
//!   (`snapshot.mode=initial_only`), against a bare streaming `SELECT *` (tokio-postgres) of the same
//!   table with every column read.
//!
//! The streaming contenders each read from a copy of a slot made before the block of inserts
//! (`pg_copy_logical_replication_slot`), so every run reads exactly that block; the connector runs
//! with `snapshot.mode=no_data` from the copied slot and is timed from its start to its last record
//! acknowledged by the broker.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_core::config::{ConnectorConfig, Props};
use connect_core::rdkafka::consumer::{BaseConsumer, Consumer};
use connect_core::rdkafka::error::{KafkaError, RDKafkaErrorCode};
use connect_core::rdkafka::producer::{
    BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer,
};
use connect_core::rdkafka::{ClientContext, Message as _, Offset, TopicPartitionList};
use connect_core::registry::Registry;
use connect_core::runtime::Worker;
use connect_sources::postgres::pgoutput::{self, Cell, Message};
use connect_test_support::Postgres;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use futures::StreamExt;
use pgwire_replication::{ReplicationClient, ReplicationConfig, ReplicationEvent, TlsConfig};
use tokio_postgres::types::{FromSql, Type};

// mimalloc, counting allocations (`--features system-alloc`: the system allocator).
connect_benches::cdc_global_allocator!();

/// Rows per run: 50 000 when benchmarking; 2 000 when `cargo test` runs the bench once as a check
/// (criterion passes `--bench` only to a benchmarking run), so the suite stays quick.
fn rows() -> u64 {
    if std::env::args().any(|a| a == "--bench") {
        50_000
    } else {
        2_000
    }
}

const WIDE: &str = "CREATE TABLE wide (id bigint PRIMARY KEY, patient_id int NOT NULL,
  mrn varchar(20) NOT NULL, family varchar(60), given varchar(60), birth date, sex char(1),
  admitted timestamp(3), discharged timestamp(3), ward varchar(20), bed smallint,
  weight numeric(6,2), height numeric(5,2), allergies text, code varchar(20), status smallint,
  updated timestamptz(3), notes varchar(200), flags bigint, score double precision)";

const WIDE_ROWS: &str = "INSERT INTO wide SELECT g, g % 5000, 'MRN' || g, 'Family', 'Given',
  DATE '1970-01-01' + (g % 30000), (ARRAY['M','F','U'])[1 + g % 3],
  TIMESTAMP '2026-11-30 08:00:00.125' + g * INTERVAL '1 second', NULL, 'WARD-7', g % 40,
  70.25, 175.5, 'penicillin; latex', 'LOINC-' || (g % 97), g % 4,
  TIMESTAMPTZ '2026-11-30 09:00:00.500+00', 'admitted via ED', g, g / 7.0";

/// Any column's value as the raw bytes the server sent (the bare SELECT reads every column).
struct Raw<'a>(#[allow(dead_code)] &'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// The replication client on slot `slot`, streaming.
async fn replication_client(pg: &Postgres, slot: &str) -> ReplicationClient {
    let cfg = ReplicationConfig::new("127.0.0.1", "postgres", "", "postgres", slot, "bench_pub")
        .with_port(pg.port())
        .with_tls(TlsConfig::disabled());
    let mut client = ReplicationClient::connect(cfg).await.unwrap();
    client.wait_started().await.unwrap();
    client
}

/// The next Insert's row, decoded.
async fn next_insert(client: &mut ReplicationClient) -> pgoutput::Tuple {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(30), client.recv())
            .await
            .expect("the slot went quiet before the block was read")
            .unwrap()
            .expect("the stream ended");
        if let ReplicationEvent::XLogData { data, .. } = ev {
            if let Message::Insert { new, .. } = pgoutput::decode(&data).unwrap() {
                return new;
            }
        }
    }
}

/// The bare peer: the replication client alone on slot `slot`, decoding every Insert's columns.
async fn bare_stream(pg: &Postgres, slot: &str, n: u64) {
    let mut client = replication_client(pg, slot).await;
    for _ in 0..n {
        for c in next_insert(&mut client).await.iter() {
            if let Cell::Text(b) = c {
                black_box(std::str::from_utf8(b).unwrap());
            }
        }
    }
    client.abort();
}

/// Counts the broker's answers to the floor's records: acknowledged, and refused.
#[derive(Default)]
struct Answers {
    acked: AtomicU64,
    refused: AtomicU64,
}

struct AckCounter(Arc<Answers>);

impl ClientContext for AckCounter {}

impl ProducerContext for AckCounter {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let counter = match result {
            Ok(_) => &self.0.acked,
            Err(_) => &self.0.refused,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The floor of any connector on this stream: the bare peer's reading and decoding, plus producing
/// each Insert to the embedded Kafka as the connector's record `value` (fixed bytes, taken from one
/// record the connector wrote) keyed by the row's `id` as JsonConverter writes it, counted done when
/// the broker has acknowledged every record. No envelope is built and nothing is encoded per row.
/// Returns the time from its start to the last acknowledgement; like the connector's run, it leaves
/// out closing the producer (librdkafka's teardown takes tens of milliseconds).
async fn floor_stream(
    pg: &Postgres,
    worker: &Worker,
    slot: &str,
    topic: &str,
    value: &[u8],
    n: u64,
) -> Duration {
    let start = Instant::now();
    // The run is bounded: a cluster that stops answering fails the bench instead of hanging it.
    let deadline = start + Duration::from_secs(120);
    let answers = Arc::new(Answers::default());
    let producer: ThreadedProducer<AckCounter> = worker
        .kafka()
        .producer_config()
        .create_with_context(AckCounter(answers.clone()))
        .unwrap();
    let mut client = replication_client(pg, slot).await;
    let mut key = Vec::with_capacity(32);
    for _ in 0..n {
        let new = next_insert(&mut client).await;
        let Some(Cell::Text(id)) = new.first() else {
            panic!("an Insert without its id")
        };
        key.clear();
        key.extend_from_slice(b"{\"id\":");
        key.extend_from_slice(std::str::from_utf8(id).unwrap().as_bytes());
        key.push(b'}');
        let mut record = BaseRecord::<[u8], [u8]>::to(topic).key(&key).payload(value);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    assert!(
                        Instant::now() < deadline,
                        "the producer's queue stayed full"
                    );
                    record = r;
                    tokio::time::sleep(Duration::from_micros(100)).await;
                }
                Err((e, _)) => panic!("the producer refused a record: {e}"),
            }
        }
    }
    client.abort();
    while answers.acked.load(Ordering::Relaxed) < n {
        let refused = answers.refused.load(Ordering::Relaxed);
        assert_eq!(refused, 0, "the embedded cluster refused {refused} records");
        assert!(
            Instant::now() < deadline,
            "the embedded cluster acknowledged {} of {n} records in 120 s",
            answers.acked.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    let elapsed = start.elapsed();
    drop(producer);
    elapsed
}

/// One record's value as the connector wrote it to `topic`.
fn written_value(worker: &Worker, topic: &str) -> Vec<u8> {
    let consumer: BaseConsumer = worker
        .kafka()
        .consumer_config("bench-floor")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..8 {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no record in {topic}");
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            return m
                .unwrap()
                .payload()
                .expect("a record with a value")
                .to_vec();
        }
    }
}

/// The bare peer of the snapshot: one streaming `SELECT *`, every column of every row read.
async fn bare_select(client: &tokio_postgres::Client, table: &str) -> u64 {
    let stream = client
        .query_raw(
            format!("SELECT * FROM {table}").as_str(),
            std::iter::empty::<i32>(),
        )
        .await
        .unwrap();
    let mut stream = std::pin::pin!(stream);
    let mut rows = 0;
    while let Some(row) = stream.next().await {
        let row = row.unwrap();
        for i in 0..row.len() {
            black_box(row.get::<_, Option<Raw>>(i));
        }
        rows += 1;
    }
    rows
}

struct Bench {
    pg: Postgres,
    worker: Worker,
    runs: std::cell::Cell<u32>,
}

impl Bench {
    /// A fresh copy of slot `template`, positioned where the template is.
    fn copy_slot(&self, template: &str) -> String {
        let i = self.runs.get();
        self.runs.set(i + 1);
        let slot = format!("run_{i}");
        self.pg.exec(&format!(
            "SELECT pg_copy_logical_replication_slot('{template}', '{slot}')"
        ));
        slot
    }

    fn drop_slot(&self, slot: &str) {
        // The walsender may still be letting go of it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Err(e) = self
            .pg
            .try_exec(&format!("SELECT pg_drop_replication_slot('{slot}')"))
        {
            assert!(Instant::now() < deadline, "slot {slot} stayed active: {e}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs the connector once on `table`: streaming from slot `slot`, or a snapshot when `slot` is
    /// None, until `n` records are in Kafka. Returns the time from start to the last record
    /// acknowledged.
    async fn run(&self, table: &str, slot: Option<&str>, n: u64) -> Duration {
        let i = self.runs.get();
        self.runs.set(i + 1);
        let name = format!("pg-{table}-{i}");
        let snapshot_slot = format!("snap_{i}");
        let props = connect_test_support::SEED_CONVERTERS
            .iter()
            .fold(Props::new(), |p, (k, v)| p.with(*k, *v))
            .with("name", name.as_str())
            .with(
                "connector.class",
                "io.debezium.connector.postgresql.PostgresConnector",
            )
            .with("database.hostname", "127.0.0.1")
            .with("database.port", self.pg.port().to_string())
            .with("database.user", "postgres")
            .with("database.dbname", "postgres")
            .with("topic.prefix", "bench")
            .with("plugin.name", "pgoutput")
            .with("publication.name", "bench_pub")
            .with("publication.autocreate.mode", "disabled")
            .with("table.include.list", format!("public.{table}"))
            .with("slot.name", slot.unwrap_or(&snapshot_slot))
            .with(
                "snapshot.mode",
                if slot.is_some() {
                    "no_data"
                } else {
                    "initial_only"
                },
            );
        let elapsed = connect_benches::run_until_written(
            &self.worker,
            ConnectorConfig::new(name.as_str(), props),
            n,
        )
        .await;
        self.drop_slot(slot.unwrap_or(&snapshot_slot));
        elapsed
    }
}

fn pg_cdc(c: &mut Criterion) {
    let n = rows();
    let rt = connect_benches::bench_runtime();
    let pg = Postgres::start();
    pg.exec(&format!(
        "CREATE TABLE narrow (id bigint PRIMARY KEY, v int NOT NULL);
         {WIDE};
         CREATE PUBLICATION bench_pub FOR TABLE narrow, wide;"
    ));
    // Each block of inserts (one transaction per table) follows a template slot made just before it.
    pg.exec("SELECT pg_create_logical_replication_slot('template_narrow', 'pgoutput')");
    pg.exec(&format!(
        "INSERT INTO narrow SELECT g, g % 1000 FROM generate_series(1, {n}) g"
    ));
    pg.exec("SELECT pg_create_logical_replication_slot('template_wide', 'pgoutput')");
    pg.exec(&format!("{WIDE_ROWS} FROM generate_series(1, {n}) g"));

    let mut reg = Registry::with_builtins();
    connect_sources::register(&mut reg);
    let worker = rt
        .block_on(Worker::start(connect_benches::bench_worker_props(), reg))
        .unwrap();
    for t in ["bench.public.narrow", "bench.public.wide"] {
        // Several partitions: the mock cluster keeps about 5 MB per partition.
        worker.embedded().unwrap().create_topic(t, 8, 1).unwrap();
    }
    let (select_client, connection) = rt
        .block_on(tokio_postgres::connect(
            &format!(
                "host=127.0.0.1 port={} user=postgres dbname=postgres",
                pg.port()
            ),
            tokio_postgres::NoTls,
        ))
        .unwrap();
    rt.spawn(connection);
    let bench = Bench {
        pg,
        worker,
        runs: std::cell::Cell::new(0),
    };

    // Allocations per event, counted over one run of each contender (every thread's Rust allocations;
    // librdkafka's and PostgreSQL's own are not counted).
    println!("allocations per event (counting allocator, one run of {n} rows each):");
    let counting = connect_benches::counting();
    for table in ["narrow", "wide"] {
        let template = format!("template_{table}");
        let slot = bench.copy_slot(&template);
        let before = connect_benches::allocations();
        rt.block_on(bare_stream(&bench.pg, &slot, n));
        let peer = connect_benches::allocations() - before;
        bench.drop_slot(&slot);
        let slot = bench.copy_slot(&template);
        let before = connect_benches::allocations();
        rt.block_on(bench.run(table, Some(&slot), n));
        let connector = connect_benches::allocations() - before;
        println!(
            "| pg_cdc_stream {table} | peer {:.1} | connector {:.1} |",
            peer as f64 / n as f64,
            connector as f64 / n as f64
        );
    }
    drop(counting);
    // The floor produces a record the connector wrote (the runs above filled both topics).
    let values: Vec<Vec<u8>> = ["narrow", "wide"]
        .iter()
        .map(|t| written_value(&bench.worker, &format!("bench.public.{t}")))
        .collect();

    let mut g = c.benchmark_group("pg_cdc_stream");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(n));
    for (table, value) in ["narrow", "wide"].into_iter().zip(&values) {
        let template = format!("template_{table}");
        let topic = format!("bench.public.{table}");
        g.bench_function(format!("peer_bare_replication_client_{table}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let slot = bench.copy_slot(&template);
                    let start = Instant::now();
                    rt.block_on(bare_stream(&bench.pg, &slot, n));
                    total += start.elapsed();
                    bench.drop_slot(&slot);
                }
                total
            })
        });
        g.bench_function(
            format!("floor_replication_client_and_producer_{table}"),
            |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let slot = bench.copy_slot(&template);
                        total += rt.block_on(floor_stream(
                            &bench.pg,
                            &bench.worker,
                            &slot,
                            &topic,
                            value,
                            n,
                        ));
                        bench.drop_slot(&slot);
                    }
                    total
                })
            },
        );
        g.bench_function(format!("connector_to_kafka_{table}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let slot = bench.copy_slot(&template);
                    total += rt.block_on(bench.run(table, Some(&slot), n));
                }
                total
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("pg_cdc_snapshot");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(n));
    for table in ["narrow", "wide"] {
        g.bench_function(format!("peer_bare_select_{table}"), |b| {
            b.iter_custom(|iters| {
                connect_benches::time_runs(&rt, iters, n, || bare_select(&select_client, table))
            })
        });
        g.bench_function(format!("connector_to_kafka_{table}"), |b| {
            b.iter_custom(|iters| {
                connect_benches::sum_runs(&rt, iters, || bench.run(table, None, n))
            })
        });
    }
    g.finish();
    rt.block_on(bench.worker.shutdown());
}

criterion_group!(benches, pg_cdc);
criterion_main!(benches);
