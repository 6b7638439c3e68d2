//! The PostgreSQL connector's own work for one change event, with no database and no Kafka: a
//! pgoutput Insert decoded, its row converted to the table's struct, the `source` block and the
//! Debezium envelope built, and key and value encoded by JsonConverter without schemas (the seed's
//! converters). The rows are those of `postgres_cdc`'s `narrow` and `wide` tables.
//!
//! `connector_event_built_*` stops before the encoding (the records are dropped instead).
//!
//! Beside it, the part of that work the bare replication client of `postgres_cdc` also does
//! (`peer_decode_to_text`: decode, every column read as text), so the difference is what the
//! connector adds per event before the runtime and the producer take the record. It leaves out the
//! record's offset, the runtime and the producer: it is a lower bound on the connector's cost.

use std::hint::black_box;

use bytes::{BufMut, Bytes, BytesMut};
use connect_core::config::Props;
use connect_core::converter::{Converter, JsonConverter};
use connect_core::data::Schema;
use connect_core::record::SourceRecord;
use connect_sources::cdc::envelope::Op;
use connect_sources::cdc::server_partition;
use connect_sources::cdc::table::TableId;
use connect_sources::postgres::columns::Types;
use connect_sources::postgres::events::{
    self, source_schema, ColumnDesc, SourceInfo, TableDesc, TableEvents,
};
use connect_sources::postgres::pgoutput::{self, Message};
use connect_sources::postgres::PostgresConfig;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

connect_benches::cdc_global_allocator!();

/// A column: name, type OID, type modifier (-1: none), nullable.
type Column = (&'static str, u32, i32, bool);

const NARROW: &[Column] = &[("id", 20, -1, false), ("v", 23, -1, false)];

/// `postgres_cdc`'s `wide` table (type modifiers as PostgreSQL reports them: varchar(n) is n + 4,
/// numeric(p,s) is (p << 16 | s) + 4, timestamp(3) is 3).
const WIDE: &[Column] = &[
    ("id", 20, -1, false),
    ("patient_id", 23, -1, false),
    ("mrn", 1043, 24, false),
    ("family", 1043, 64, true),
    ("given", 1043, 64, true),
    ("birth", 1082, -1, true),
    ("sex", 1042, 5, true),
    ("admitted", 1114, 3, true),
    ("discharged", 1114, 3, true),
    ("ward", 1043, 24, true),
    ("bed", 21, -1, true),
    ("weight", 1700, (6 << 16 | 2) + 4, true),
    ("height", 1700, (5 << 16 | 2) + 4, true),
    ("allergies", 25, -1, true),
    ("code", 1043, 24, true),
    ("status", 21, -1, true),
    ("updated", 1184, 3, true),
    ("notes", 1043, 204, true),
    ("flags", 20, -1, true),
    ("score", 701, -1, true),
];

/// Row 4242 of each table as the server sends it (None: NULL).
fn row_text(table: &str) -> Vec<Option<&'static str>> {
    if table == "narrow" {
        return vec![Some("4242"), Some("242")];
    }
    vec![
        Some("4242"),
        Some("4242"),
        Some("MRN4242"),
        Some("Family"),
        Some("Given"),
        Some("1981-08-13"),
        Some("F"),
        Some("2026-11-30 09:10:42.125"),
        None,
        Some("WARD-7"),
        Some("2"),
        Some("70.25"),
        Some("175.50"),
        Some("penicillin; latex"),
        Some("LOINC-71"),
        Some("2"),
        Some("2026-11-30 09:00:00.5+00"),
        Some("admitted via ED"),
        Some("4242"),
        Some("606"),
    ]
}

/// A pgoutput Insert message of relation 16384 carrying `values`.
fn insert_message(values: &[Option<&str>]) -> Bytes {
    let mut m = BytesMut::new();
    m.put_u8(b'I');
    m.put_u32(16384);
    m.put_u8(b'N');
    m.put_i16(values.len() as i16);
    for v in values {
        match v {
            Some(t) => {
                m.put_u8(b't');
                m.put_i32(t.len() as i32);
                m.put_slice(t.as_bytes());
            }
            None => m.put_u8(b'n'),
        }
    }
    m.freeze()
}

fn table_events(
    cfg: &PostgresConfig,
    source: &Schema,
    table: &str,
    columns: &[Column],
) -> TableEvents {
    let def = TableDesc {
        id: TableId::new("public", table),
        columns: columns
            .iter()
            .map(|&(name, type_oid, modifier, optional)| ColumnDesc {
                name: name.to_owned(),
                type_oid,
                modifier,
                optional,
            })
            .collect(),
        primary_key: vec!["id".to_owned()],
    };
    TableEvents::new(cfg, &Types::new(), source, &def)
}

fn pg_events(c: &mut Criterion) {
    let props = [
        ("database.hostname", "127.0.0.1"),
        ("database.user", "postgres"),
        ("database.dbname", "postgres"),
        ("topic.prefix", "bench"),
        ("plugin.name", "pgoutput"),
    ]
    .iter()
    .fold(Props::new(), |p, (k, v)| p.with(*k, *v));
    let cfg = PostgresConfig::parse(&props).expect("the bench's config");
    let source = source_schema();
    let partition = server_partition("bench");
    let json = JsonConverter::new(false);

    let mut g = c.benchmark_group("pg_event");
    g.throughput(Throughput::Elements(1));
    for (table, columns) in [("narrow", NARROW), ("wide", WIDE)] {
        // One source schema for the table's envelope and its source blocks, as the reader has.
        let te = table_events(&cfg, &source, table, columns);
        let message = insert_message(&row_text(table));

        // The connector's event: checked once, so the bench cannot time an error path.
        let event = |out: &mut Vec<SourceRecord>, encode: bool| {
            let Message::Insert { new, .. } = pgoutput::decode(&message).expect("an Insert") else {
                panic!("not an Insert")
            };
            let cells = new.iter().map(|c| match c {
                pgoutput::Cell::Null => events::Cell::Null,
                pgoutput::Cell::Unchanged => events::Cell::Unchanged,
                pgoutput::Cell::Text(b) => {
                    events::Cell::Text(std::str::from_utf8(b).expect("UTF-8"))
                }
            });
            let after = te.row(cells, &cfg.modes).expect("the row converts");
            let source = SourceInfo {
                ts_us: 1_764_493_200_500_000,
                snapshot: None,
                db: "postgres",
                table: &te.id,
                tx_id: Some(771),
                lsn: Some(22_817_560),
                sequence: Some((22_817_400, 22_817_560)),
            }
            .to_struct(&source, "bench");
            te.records(
                Op::Create,
                None,
                Some(after),
                source,
                &partition,
                false,
                None,
                vec![],
                out,
            );
            let mut encoded = 0;
            for r in out.drain(..) {
                if !encode {
                    encoded += 1;
                    continue;
                }
                let key = json
                    .from_connect_data(&r.record.topic, r.record.key_schema.as_ref(), &r.record.key)
                    .expect("the key encodes");
                let value = json
                    .from_connect_data(
                        &r.record.topic,
                        r.record.value_schema.as_ref(),
                        &r.record.value,
                    )
                    .expect("the value encodes");
                encoded += key.map_or(0, |k| k.len()) + value.map_or(0, |v| v.len());
            }
            encoded
        };
        let mut out = Vec::with_capacity(2);
        assert!(event(&mut out, true) > 0);

        g.bench_function(format!("peer_decode_to_text_{table}"), |b| {
            b.iter(|| {
                let Ok(Message::Insert { new, .. }) = pgoutput::decode(black_box(&message)) else {
                    panic!("not an Insert")
                };
                for c in new.iter() {
                    if let pgoutput::Cell::Text(b) = c {
                        black_box(std::str::from_utf8(b).expect("UTF-8"));
                    }
                }
            })
        });
        g.bench_function(format!("connector_event_built_{table}"), |b| {
            b.iter(|| black_box(event(&mut out, false)))
        });
        g.bench_function(format!("connector_event_json_{table}"), |b| {
            b.iter(|| black_box(event(&mut out, true)))
        });
    }
    g.finish();
}

criterion_group!(benches, pg_events);
criterion_main!(benches);
