//! MySQL/MariaDB CDC throughput against a real MariaDB (started by the bench, as the tests do), each
//! contender beside its peer in the same run:
//!
//! * `cdc_binlog/*`: change events per second from the binlog to the embedded Kafka cluster (the
//!   connector, JsonConverter without schemas as the seed configures it), against the bare binlog
//!   client (mysql_async) decoding the same events into rows, for a 2-column and a 20-column table.
//!   Two peers: `peer_bare_binlog_client_*` takes the rows from mysql_common's row iterator (which
//!   describes every column of every row), `peer_bare_binlog_values_*` decodes each row's values
//!   with mysql_common's value decoder and nothing else, as the connector does. All start from the
//!   same binlog position and stop after the same number of rows.
//! * `cdc_snapshot/*`: snapshot rows per second to the embedded Kafka cluster
//!   (`snapshot.mode=initial_only`), against a bare streaming `SELECT *` of the same table.
//!
//! Each connector run starts from an offset written to the worker's offsets topic in Debezium's
//! form, with `snapshot.mode=recovery` (schemas read again, no rows), so it reads exactly the block of
//! inserts the bench wrote; the time counted runs from the connector's start to its last record
//! acknowledged by the broker.

use std::hint::black_box;
use std::time::Duration;

use connect_core::config::{ConnectorConfig, Props};
use connect_core::registry::Registry;
use connect_core::runtime::Worker;
use connect_test_support::MariaDb;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use futures::StreamExt;
use mysql_async::binlog::events::{EventData, RowsEventData};
use mysql_async::binlog::value::BinlogValue;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStreamRequest, Conn, Opts, Row, Value};

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

const WIDE: &str = "CREATE TABLE bench.wide (id BIGINT PRIMARY KEY, patient_id INT NOT NULL,
  mrn VARCHAR(20) NOT NULL, family VARCHAR(60), given VARCHAR(60), birth DATE,
  sex ENUM('M','F','U'), admitted DATETIME(3), discharged DATETIME(3) NULL, ward VARCHAR(20),
  bed SMALLINT, weight DECIMAL(6,2), height DECIMAL(5,2), allergies TEXT, code VARCHAR(20),
  status TINYINT, updated TIMESTAMP(3) NULL, notes VARCHAR(200), flags INT UNSIGNED, score DOUBLE)";

const WIDE_ROWS: &str = "INSERT INTO bench.wide SELECT seq, seq % 5000, CONCAT('MRN', seq),
  'Family', 'Given', DATE '1970-01-01' + INTERVAL (seq % 30000) DAY, ELT(1 + seq % 3, 'M', 'F', 'U'),
  TIMESTAMP '2026-11-30 08:00:00.125' + INTERVAL seq SECOND, NULL, 'WARD-7', seq % 40,
  70.25, 175.5, 'penicillin; latex', CONCAT('LOINC-', seq % 97), seq % 4,
  TIMESTAMP '2026-11-30 09:00:00.500', 'admitted via ED', seq, seq / 7.0";

/// How a bare peer decodes rows.
#[derive(Clone, Copy)]
enum Decode {
    /// mysql_common's row iterator (`RowsEventData::rows`).
    RowIterator,
    /// Each value with mysql_common's `BinlogValue`, from the table map's layout (the bench's
    /// events carry every column in their after image).
    Values,
}

/// The after images of a write rows event whose images carry every column, values only.
fn write_rows_values(
    re: &RowsEventData<'_>,
    tme: &mysql_async::binlog::events::TableMapEvent<'_>,
) -> u64 {
    use mysql_async::binlog::events::OptionalMetaExtractor;
    let n = re.num_columns() as usize;
    let meta = OptionalMetaExtractor::new(tme.iter_optional_meta()).unwrap();
    let mut signed = meta.iter_signedness();
    let layout: Vec<_> = (0..n)
        .map(|i| {
            let ty = tme.get_column_type(i).unwrap().unwrap();
            let unsigned = if ty.is_numeric_type() {
                signed.next().unwrap_or(false)
            } else {
                false
            };
            (ty, tme.get_column_metadata(i).unwrap_or(&[]), unsigned)
        })
        .collect();
    let mut buf = mysql_common::io::ParseBuf(re.rows_data());
    let mut rows = 0;
    while !buf.is_empty() {
        let nulls: &[u8] = buf.parse(n.div_ceil(8)).unwrap();
        let mut values = Vec::with_capacity(n);
        for (i, (ty, meta, unsigned)) in layout.iter().enumerate() {
            if nulls[i / 8] & (1 << (i % 8)) != 0 {
                values.push(Value::NULL);
                continue;
            }
            match buf
                .parse::<BinlogValue<'_>>((*ty, *meta, *unsigned, false))
                .unwrap()
            {
                BinlogValue::Value(v) => values.push(v),
                _ => values.push(Value::NULL),
            }
        }
        black_box(values);
        rows += 1;
    }
    rows
}

/// The bare peer: the binlog client alone, decoding every row of the rows events into values.
async fn bare_binlog(opts: &Opts, file: &str, pos: u64, n: u64, decode: Decode) -> u64 {
    let mut conn = Conn::new(opts.clone()).await.unwrap();
    conn.query_drop("SET @mariadb_slave_capability=4")
        .await
        .unwrap();
    let request = BinlogStreamRequest::new(4242)
        .with_filename(file.as_bytes())
        .with_pos(pos);
    let mut stream = conn.get_binlog_stream(request).await.unwrap();
    let mut rows = 0;
    while rows < n {
        let ev = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("the binlog went quiet before the block was read")
            .unwrap()
            .unwrap();
        let Ok(Some(EventData::RowsEvent(re))) = ev.read_data() else {
            continue;
        };
        // MariaDB writes version 1 rows events, MySQL version 2.
        if !matches!(
            re,
            RowsEventData::WriteRowsEvent(_) | RowsEventData::WriteRowsEventV1(_)
        ) {
            continue;
        }
        let tme = stream.get_tme(re.table_id()).unwrap();
        if let Decode::Values = decode {
            rows += write_rows_values(&re, tme);
            continue;
        }
        for row in re.rows(tme) {
            let (_, after) = row.unwrap();
            let after = after.unwrap();
            let values: Vec<Value> = (0..after.len())
                .map(|i| match after.as_ref(i) {
                    Some(BinlogValue::Value(v)) => v.clone(),
                    _ => Value::NULL,
                })
                .collect();
            black_box(values);
            rows += 1;
        }
    }
    let _ = stream.close().await;
    rows
}

/// The bare peer of the snapshot: one streaming `SELECT *`, every row decoded into values.
async fn bare_select(opts: &Opts, table: &str) -> u64 {
    let mut conn = Conn::new(opts.clone()).await.unwrap();
    let mut result = conn
        .query_iter(format!("SELECT * FROM {table}"))
        .await
        .unwrap();
    let mut stream = result.stream::<Row>().await.unwrap().unwrap();
    let mut rows = 0;
    while let Some(row) = stream.next().await {
        black_box(row.unwrap().unwrap());
        rows += 1;
    }
    drop(stream);
    drop(result);
    let _ = conn.disconnect().await;
    rows
}

struct Bench {
    db: MariaDb,
    worker: Worker,
    bootstrap: String,
    runs: std::cell::Cell<u32>,
}

impl Bench {
    /// Runs connector `table` once: from `start` (binlog) or a snapshot, until `n` records are in
    /// Kafka. Returns the time from start to the last record acknowledged.
    async fn run(&self, table: &str, start: Option<(&str, u64)>, n: u64) -> Duration {
        let i = self.runs.get();
        self.runs.set(i + 1);
        let name = format!("cdc-{table}-{i}");
        let mut props = self
            .db
            .cdc_source_config(&name, "bench")
            .into_iter()
            .chain(connect_test_support::SEED_CONVERTERS.map(|(k, v)| (k.to_owned(), v.to_owned())))
            .fold(Props::new(), |p, (k, v)| p.with(k, v))
            .with("database.server.id", (5000 + i).to_string())
            .with("table.include.list", format!("bench.{table}"))
            .with(
                "schema.history.internal.kafka.topic",
                format!("bench-history-{name}"),
            )
            .with("include.schema.changes", "false");
        match start {
            Some((file, pos)) => {
                let key = format!(r#"["{name}",{{"server":"bench"}}]"#);
                let value = format!(r#"{{"file":"{file}","pos":{pos},"server_id":1}}"#);
                connect_test_support::produce(
                    &self.bootstrap,
                    "bench-offsets",
                    &[(Some(key.as_bytes()), Some(value.as_bytes()))],
                );
                props.set("snapshot.mode", "recovery");
            }
            None => {
                props.set("snapshot.mode", "initial_only");
            }
        }
        let elapsed = connect_benches::run_until_written(
            &self.worker,
            ConnectorConfig::new(name.as_str(), props),
            n,
        )
        .await;
        elapsed
    }
}

fn cdc(c: &mut Criterion) {
    let n = rows();
    let rt = connect_benches::bench_runtime();
    let db = MariaDb::start();
    db.exec(&format!(
        "CREATE DATABASE bench;
         CREATE TABLE bench.narrow (id BIGINT PRIMARY KEY, v INT NOT NULL);
         {WIDE};"
    ));
    // The blocks of inserts the binlog contenders read: one transaction per table.
    let narrow_at = db.master_status();
    db.exec(&format!(
        "INSERT INTO bench.narrow SELECT seq, seq % 1000 FROM bench.seq_1_to_{n};"
    ));
    let wide_at = db.master_status();
    db.exec(&format!("{WIDE_ROWS} FROM bench.seq_1_to_{n};"));
    let opts = Opts::from_url(&db.url()).unwrap();
    let mut reg = Registry::with_builtins();
    connect_sources::register(&mut reg);
    let worker = rt
        .block_on(Worker::start(
            Props::new()
                .with("offset.flush.interval.ms", "1000")
                .with("offset.storage.topic", "bench-offsets")
                .with("offset.storage.replication.factor", "1"),
            reg,
        ))
        .unwrap();
    let bootstrap = worker.kafka().bootstrap_servers().to_owned();
    for t in ["bench.bench.narrow", "bench.bench.wide"] {
        // Several partitions: the mock cluster keeps about 5 MB per partition.
        worker.embedded().unwrap().create_topic(t, 8, 1).unwrap();
    }
    let bench = Bench {
        db,
        worker,
        bootstrap,
        runs: std::cell::Cell::new(0),
    };

    // Allocations per event, counted over one run of each contender (every thread's Rust allocations;
    // librdkafka's and MariaDB's own are not counted).
    println!("allocations per event (counting allocator, one run of {n} rows each):");
    let counting = connect_benches::counting();
    for (table, (file, pos)) in [("narrow", &narrow_at), ("wide", &wide_at)] {
        let before = connect_benches::allocations();
        rt.block_on(bare_binlog(&opts, file, *pos, n, Decode::RowIterator));
        let peer = connect_benches::allocations() - before;
        let before = connect_benches::allocations();
        rt.block_on(bare_binlog(&opts, file, *pos, n, Decode::Values));
        let values_peer = connect_benches::allocations() - before;
        let before = connect_benches::allocations();
        rt.block_on(bench.run(table, Some((file, *pos)), n));
        let connector = connect_benches::allocations() - before;
        println!(
            "| cdc_binlog {table} | peer {:.1} | values peer {:.1} | connector {:.1} |",
            peer as f64 / n as f64,
            values_peer as f64 / n as f64,
            connector as f64 / n as f64
        );
    }
    drop(counting);

    let mut g = c.benchmark_group("cdc_binlog");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(n));
    for (table, (file, pos)) in [("narrow", &narrow_at), ("wide", &wide_at)] {
        g.bench_function(format!("peer_bare_binlog_client_{table}"), |b| {
            b.iter_custom(|iters| {
                connect_benches::time_runs(&rt, iters, n, || {
                    bare_binlog(&opts, file, *pos, n, Decode::RowIterator)
                })
            })
        });
        g.bench_function(format!("peer_bare_binlog_values_{table}"), |b| {
            b.iter_custom(|iters| {
                connect_benches::time_runs(&rt, iters, n, || {
                    bare_binlog(&opts, file, *pos, n, Decode::Values)
                })
            })
        });
        g.bench_function(format!("connector_to_kafka_{table}"), |b| {
            b.iter_custom(|iters| {
                connect_benches::sum_runs(&rt, iters, || bench.run(table, Some((file, *pos)), n))
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("cdc_snapshot");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(n));
    for table in ["narrow", "wide"] {
        let qualified = format!("bench.{table}");
        g.bench_function(format!("peer_bare_select_{table}"), |b| {
            b.iter_custom(|iters| {
                connect_benches::time_runs(&rt, iters, n, || bare_select(&opts, &qualified))
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

criterion_group!(benches, cdc);
criterion_main!(benches);
