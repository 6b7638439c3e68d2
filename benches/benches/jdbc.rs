//! The JDBC sink against real databases (PostgreSQL and MariaDB, started by the bench), each beside
//! a bare client doing the same multi-row upserts in the same run:
//!
//! * `jdbc_upsert_postgres`: 20 000 encounter rows (20 columns) upserted per run, 2 000 per `put`
//!   (one transaction each), by the sink task (records converted, one `unnest` statement per put)
//!   and by a bare tokio-postgres client sending the same rows as typed arrays in the same kind of
//!   statement, one transaction per 2 000 rows, its parameters built before the clock starts.
//! * `jdbc_upsert_mariadb`: the same into MariaDB, the bare client being mysql_async with one
//!   multi-row `INSERT … ON DUPLICATE KEY UPDATE` per 2 000 rows, parameters prebuilt.
//!
//! Rows per second. Each run writes a fresh table (created and dropped untimed) with the types
//! `auto.create` declares for the records' schema.

use std::hint::black_box;
use std::time::{Duration, Instant};

use connect_benches::{bench_runtime, encounter_schema, encounter_sink_records};
use connect_core::config::Props;
use connect_core::data::{civil_from_days, Value};
use connect_core::record::SinkRecord;
use connect_core::sink::{SinkTask, SinkTaskContext};
use connect_sinks::jdbc::dialect::Dialect;
use connect_sinks::jdbc::schema::{kind_of, ColumnSpec, TableId};
use connect_sinks::jdbc::url::DialectKind;
use connect_sinks::jdbc::JdbcSinkTask;
use connect_test_support::{MariaDb, Postgres};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use mysql_async::prelude::Queryable;

const BATCH: usize = 2_000;

/// Rows per run: 20 000 when benchmarking, 2 000 when `cargo test` runs the bench once.
fn rows() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        20_000
    } else {
        BATCH
    }
}

/// The table `auto.create` would make for the encounters (key `encounter_id`).
fn ddl(kind: DialectKind, table: &str) -> String {
    let schema = encounter_schema();
    let specs: Vec<(String, ColumnSpec)> = schema
        .fields()
        .iter()
        .map(|f| {
            (
                f.name().to_owned(),
                ColumnSpec {
                    kind: kind_of(f.schema()).unwrap(),
                    optional: f.schema().is_optional(),
                },
            )
        })
        .collect();
    let cols: Vec<(&str, &ColumnSpec)> = specs.iter().map(|(n, s)| (n.as_str(), s)).collect();
    Dialect { kind, quote: true }.create_table(
        &TableId {
            schema: None,
            name: table.to_owned(),
        },
        &cols,
        &["encounter_id"],
    )
}

fn sink_config(url: &str, user: &str, table: &str) -> Props {
    Props::new()
        .with("name", "bench-jdbc")
        .with("connection.url", url)
        .with("connection.user", user)
        .with("insert.mode", "upsert")
        .with("pk.mode", "record_value")
        .with("pk.fields", "encounter_id")
        .with("table.name.format", table)
        .with("batch.size", BATCH.to_string())
}

async fn sink_put(url: &str, user: &str, table: &str, recs: &[SinkRecord]) -> Duration {
    let mut task = JdbcSinkTask::default();
    task.start(SinkTaskContext {
        config: sink_config(url, user, table),
        errant_record_reporter: None,
    })
    .await
    .unwrap();
    // The connection and the table's description are made before the clock starts, as in a
    // running task.
    task.put(&recs[..1]).await.unwrap();
    let start = Instant::now();
    for chunk in recs.chunks(BATCH) {
        task.put(chunk).await.unwrap();
    }
    let t = start.elapsed();
    task.stop().await.unwrap();
    t
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Date(d) => {
            let (y, m, d) = civil_from_days(*d as i64);
            Some(format!("{y:04}-{m:02}-{d:02}"))
        }
        Value::Timestamp(ms) => {
            let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
            let (y, m, d) = civil_from_days(days);
            Some(format!(
                "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}",
                rem / 3_600_000,
                rem / 60_000 % 60,
                rem / 1000 % 60,
                rem % 1000
            ))
        }
        Value::Decimal(d) => Some(d.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// The bare PostgreSQL client's statement: typed arrays for numbers, booleans and text; text cast
/// for dates, timestamps and the decimal.
const PG_PEER_COLUMNS: &str = "encounter_id, mrn, family_name, given_name, birth_date, sex, ward, bed, attending_npi, admitted_at, discharged_at, acuity, weight_kg, height_cm, isolation, charges, diagnosis_code, diagnosis_system, visits, notes";

fn pg_peer_sql(table: &str) -> String {
    let updates: Vec<String> = PG_PEER_COLUMNS
        .split(", ")
        .skip(1)
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    format!(
        "INSERT INTO \"{table}\" ({PG_PEER_COLUMNS}) SELECT a, b, c, d, e::date, f, g, h, i, j::timestamp, k::timestamp, l, m, n, o, p::numeric, q, r, s, t \
         FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int4[], $13::float8[], $14::float4[], $15::bool[], $16::text[], $17::text[], $18::text[], $19::int2[], $20::text[]) \
         AS v(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t) ON CONFLICT (encounter_id) DO UPDATE SET {}",
        updates.join(", ")
    )
}

/// The arrays of one batch, in column order.
struct PgBatch {
    ids: Vec<i64>,
    texts: Vec<Vec<Option<String>>>,
    acuity: Vec<i32>,
    weight: Vec<f64>,
    height: Vec<f32>,
    isolation: Vec<bool>,
    visits: Vec<i16>,
}

fn pg_batch(recs: &[SinkRecord]) -> PgBatch {
    let mut b = PgBatch {
        ids: Vec::new(),
        texts: vec![Vec::new(); 14],
        acuity: Vec::new(),
        weight: Vec::new(),
        height: Vec::new(),
        isolation: Vec::new(),
        visits: Vec::new(),
    };
    for r in recs {
        let s = r.record.value.as_struct().unwrap();
        let v = s.values();
        if let Value::Int64(i) = v[0] {
            b.ids.push(i)
        }
        // Columns 2..=11 and 16..=18 and 20 are text in the statement.
        for (slot, idx) in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17, 19]
            .iter()
            .enumerate()
        {
            b.texts[slot].push(text(&v[*idx]));
        }
        if let Value::Int32(x) = v[11] {
            b.acuity.push(x)
        }
        if let Value::Float64(x) = v[12] {
            b.weight.push(x)
        }
        if let Value::Float32(x) = v[13] {
            b.height.push(x)
        }
        if let Value::Boolean(x) = v[14] {
            b.isolation.push(x)
        }
        if let Value::Int16(x) = v[18] {
            b.visits.push(x)
        }
    }
    b
}

async fn pg_peer(port: u16, table: &str, recs: &[SinkRecord]) -> Duration {
    let (mut client, conn) = tokio_postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user("postgres")
        .dbname("postgres")
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap();
    let driver = tokio::spawn(conn);
    client.batch_execute("SET TIME ZONE 'UTC'").await.unwrap();
    let stmt = client.prepare(&pg_peer_sql(table)).await.unwrap();
    let batches: Vec<PgBatch> = recs.chunks(BATCH).map(pg_batch).collect();
    let start = Instant::now();
    for b in &batches {
        let t = &b.texts;
        let tx = client.transaction().await.unwrap();
        tx.execute(
            &stmt,
            &[
                &b.ids,
                &t[0],
                &t[1],
                &t[2],
                &t[3],
                &t[4],
                &t[5],
                &t[6],
                &t[7],
                &t[8],
                &t[9],
                &b.acuity,
                &b.weight,
                &b.height,
                &b.isolation,
                &t[10],
                &t[11],
                &t[12],
                &b.visits,
                &t[13],
            ],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let elapsed = start.elapsed();
    drop(client);
    let _ = driver.await;
    elapsed
}

fn mysql_value(v: &Value) -> mysql_async::Value {
    use mysql_async::Value as V;
    match v {
        Value::Null => V::NULL,
        Value::Int64(i) => V::Int(*i),
        Value::Int32(i) => V::Int(*i as i64),
        Value::Int16(i) => V::Int(*i as i64),
        Value::Float64(f) => V::Double(*f),
        Value::Float32(f) => V::Float(*f),
        Value::Boolean(b) => V::Int(*b as i64),
        other => V::Bytes(text(other).unwrap_or_default().into_bytes()),
    }
}

async fn mysql_peer(port: u16, table: &str, recs: &[SinkRecord]) -> Duration {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some("root"))
        .db_name(Some("bench"))
        .prefer_socket(false);
    let mut conn = mysql_async::Conn::new(opts).await.unwrap();
    let cols: Vec<&str> = PG_PEER_COLUMNS.split(", ").collect();
    let row = format!("({})", vec!["?"; cols.len()].join(","));
    let updates: Vec<String> = cols[1..]
        .iter()
        .map(|c| format!("`{c}` = VALUES(`{c}`)"))
        .collect();
    let sql = |n: usize| {
        format!(
            "INSERT INTO `{table}` ({}) VALUES {} ON DUPLICATE KEY UPDATE {}",
            cols.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", "),
            vec![row.as_str(); n].join(","),
            updates.join(", ")
        )
    };
    let batches: Vec<(String, Vec<mysql_async::Value>)> = recs
        .chunks(BATCH)
        .map(|chunk| {
            let params = chunk
                .iter()
                .flat_map(|r| {
                    r.record
                        .value
                        .as_struct()
                        .unwrap()
                        .values()
                        .iter()
                        .map(mysql_value)
                })
                .collect();
            (sql(chunk.len()), params)
        })
        .collect();
    let start = Instant::now();
    for (sql, params) in batches {
        conn.query_drop("BEGIN").await.unwrap();
        conn.exec_drop(sql, mysql_async::Params::Positional(params))
            .await
            .unwrap();
        conn.query_drop("COMMIT").await.unwrap();
    }
    let elapsed = start.elapsed();
    let _ = conn.disconnect().await;
    elapsed
}

fn jdbc(c: &mut Criterion) {
    let rt = bench_runtime();
    let n = rows();
    let run = std::cell::Cell::new(0u32);
    let fresh = || {
        let i = run.get();
        run.set(i + 1);
        format!("enc_{i}")
    };

    // `iters` runs, each on a fresh table created and dropped outside the timing.
    let runs = |iters: u64,
                create: &dyn Fn(&str),
                write: &dyn Fn(&str, &[SinkRecord]) -> Duration,
                drop_table: &dyn Fn(&str)| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let table = fresh();
            create(&table);
            let recs = encounter_sink_records(&table, n);
            total += write(&table, &recs);
            drop_table(&table);
        }
        total
    };

    let pg = Postgres::start();
    let pg_url = format!("jdbc:postgresql://127.0.0.1:{}/postgres", pg.port());
    let pg_create = |t: &str| {
        pg.exec(&ddl(DialectKind::Postgres, t));
    };
    let pg_drop = |t: &str| {
        black_box(pg.exec(&format!("DROP TABLE \"{t}\"")));
    };
    let mut g = c.benchmark_group("jdbc_upsert_postgres");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(n as u64));
    g.bench_function("peer_bare_tokio_postgres", |b| {
        b.iter_custom(|iters| {
            runs(
                iters,
                &pg_create,
                &|t, recs| rt.block_on(pg_peer(pg.port(), t, recs)),
                &pg_drop,
            )
        })
    });
    g.bench_function("sink_task_put", |b| {
        b.iter_custom(|iters| {
            runs(
                iters,
                &pg_create,
                &|t, recs| rt.block_on(sink_put(&pg_url, "postgres", t, recs)),
                &pg_drop,
            )
        })
    });
    g.finish();
    drop(pg);

    let my = MariaDb::start();
    my.exec("CREATE DATABASE bench");
    let my_url = format!("jdbc:mariadb://127.0.0.1:{}/bench", my.port());
    let my_create = |t: &str| {
        my.exec(&format!("USE bench; {}", ddl(DialectKind::MySql, t)));
    };
    let my_drop = |t: &str| {
        black_box(my.exec(&format!("DROP TABLE bench.`{t}`")));
    };
    let mut g = c.benchmark_group("jdbc_upsert_mariadb");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(n as u64));
    g.bench_function("peer_bare_mysql_async", |b| {
        b.iter_custom(|iters| {
            runs(
                iters,
                &my_create,
                &|t, recs| rt.block_on(mysql_peer(my.port(), t, recs)),
                &my_drop,
            )
        })
    });
    g.bench_function("sink_task_put", |b| {
        b.iter_custom(|iters| {
            runs(
                iters,
                &my_create,
                &|t, recs| rt.block_on(sink_put(&my_url, "root", t, recs)),
                &my_drop,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, jdbc);
criterion_main!(benches);
