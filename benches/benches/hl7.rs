//! HL7 v2: parsing plus path access over the corpus, against the `hl7-parser` and `rust-hl7` crates in
//! the same run; HL7ToFHIR messages/s and allocations per message for ADT^A01 and ORU^R01; the MLLP
//! source's messages/s with ACK-after-durable over loopback with 8 concurrent senders, against an
//! MLLP listener that ACKs at once without Kafka (the cost of durability).

use std::net::TcpListener as StdListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use connect_core::config::{ConnectorConfig, Props};
use connect_core::hl7::{Message, Path};
use connect_core::record::SourceRecord;
use connect_core::registry::Registry;
use connect_core::runtime::Worker;
use connect_core::transform::Transformation;
use connect_smt::hl7_to_fhir::Hl7ToFhir;
use connect_smt::Target;
use connect_sources::mllp::{build_ack, encode_frame, AckCode, FrameDecoder};
use criterion::{criterion_group, Criterion, Throughput};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// The system allocator, as the figures in BENCHMARKS.md were measured, counting allocations
// (`--features hl7-mimalloc`: mimalloc, for the comparison).
#[cfg(not(feature = "hl7-mimalloc"))]
#[global_allocator]
static GLOBAL: connect_benches::CountingAlloc<std::alloc::System> =
    connect_benches::CountingAlloc(std::alloc::System);
#[cfg(feature = "hl7-mimalloc")]
#[global_allocator]
static GLOBAL: connect_benches::CountingAlloc<mimalloc::MiMalloc> =
    connect_benches::CountingAlloc(mimalloc::MiMalloc);

const PATHS: [&str; 4] = ["MSH.9.1", "MSH.10", "PID.3.1", "PID.5.1"];

/// The corpus messages all three parsers read (each message has a PID; rust-hl7 needs CR endings).
fn corpus() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/hl7/corpus");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("the corpus beside the clone")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("hl7"))
        .collect();
    files.sort();
    for p in files {
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        let text = text.trim_end().replace("\r\n", "\r").replace('\n', "\r");
        let ours =
            Message::parse(Bytes::from(text.clone())).is_ok_and(|m| m.segment("PID", 1).is_some());
        let theirs = hl7_parser::Message::parse(&text).is_ok()
            && rusthl7::message::Message::try_from(text.as_str()).is_ok();
        if ours && theirs {
            out.push(text);
        }
    }
    out
}

fn parse_and_query(c: &mut Criterion) {
    let texts = corpus();
    let bytes: Vec<Bytes> = texts.iter().map(|t| Bytes::from(t.clone())).collect();
    let total: usize = texts.iter().map(String::len).sum();
    println!(
        "hl7 parse bench: {} corpus messages, {} bytes",
        texts.len(),
        total
    );
    let mut g = c.benchmark_group("hl7/parse_and_4_paths_over_corpus");
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("connect_core_raw", |b| {
        b.iter(|| {
            let mut n = 0;
            for m in &bytes {
                let msg = Message::parse(m.clone()).expect("parses");
                for p in PATHS {
                    let path = Path::parse(p).expect("path");
                    n += msg.get_raw_at(&path).map_or(0, <[u8]>::len);
                }
            }
            n
        })
    });
    g.bench_function("connect_core_decoded_text", |b| {
        b.iter(|| {
            let mut n = 0;
            for m in &bytes {
                let msg = Message::parse(m.clone()).expect("parses");
                for p in PATHS {
                    n += msg.get(p).map_or(0, |s| s.len());
                }
            }
            n
        })
    });
    g.bench_function("peer_hl7_parser", |b| {
        b.iter(|| {
            let mut n = 0;
            for t in &bytes {
                let t = std::str::from_utf8(t).expect("utf-8");
                let msg = hl7_parser::Message::parse(t).expect("parses");
                for p in PATHS {
                    n += msg.query(p).map_or(0, |r| r.raw_value().len());
                }
            }
            n
        })
    });
    g.bench_function("peer_rust_hl7", |b| {
        b.iter(|| {
            let mut n = 0;
            for t in &bytes {
                let t = std::str::from_utf8(t).expect("utf-8");
                let msg = rusthl7::message::Message::try_from(t).expect("parses");
                for p in ["MSH.F9.C1", "MSH.F10", "PID.F3.C1", "PID.F5.C1"] {
                    n += msg.query(p).len();
                }
            }
            n
        })
    });
    g.finish();
}

fn hl7_to_fhir(c: &mut Criterion) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/hl7/corpus/");
    let mut smt = Hl7ToFhir::new(Target::Value);
    Transformation::<SourceRecord>::configure(&mut smt, &Props::new()).expect("config");
    let mut smt_json = Hl7ToFhir::new(Target::Value);
    Transformation::<SourceRecord>::configure(
        &mut smt_json,
        &Props::new().with("output.format", "json"),
    )
    .expect("config");
    let mut g = c.benchmark_group("hl7/hl7_to_fhir");
    g.throughput(Throughput::Elements(1));
    for (name, file) in [("ADT_A01", "ADT-A01-01.hl7"), ("ORU_R01", "ORU-R01-01.hl7")] {
        let raw = Bytes::from(std::fs::read(format!("{dir}{file}")).expect("corpus file"));
        let mut record = SourceRecord::default();
        record.record.value = connect_core::data::Value::Bytes(raw.clone());
        // The finished Bundle as serde_json holds it: writing it alone is the floor of any converter
        // that writes this JSON with serde_json.
        let bundle = smt
            .convert(&Message::parse(raw.clone()).expect("parses"))
            .expect("converts")
            .expect("a Bundle");
        let mut out = Vec::new();
        smt.convert_to_json(&Message::parse(raw.clone()).expect("parses"), &mut out)
            .expect("converts");
        // Allocations per message (every Rust allocation of this thread's work), over 100 messages.
        let count = |f: &mut dyn FnMut()| {
            let _counting = connect_benches::counting();
            let before = connect_benches::allocations();
            for _ in 0..100 {
                f();
            }
            (connect_benches::allocations() - before) as f64 / 100.0
        };
        let parse = count(&mut || {
            Message::parse(raw.clone()).expect("parses");
        });
        let convert = count(&mut || {
            let msg = Message::parse(raw.clone()).expect("parses");
            smt.convert(&msg).expect("converts");
        });
        let to_json = count(&mut || {
            let msg = Message::parse(raw.clone()).expect("parses");
            out.clear();
            smt.convert_to_json(&msg, &mut out).expect("converts");
        });
        let apply = count(&mut || {
            smt.apply(record.clone()).expect("applies");
        });
        let apply_json = count(&mut || {
            smt_json.apply(record.clone()).expect("applies");
        });
        println!(
            "{name}: {} resources, {} bytes of JSON; allocations per message: parse {parse}, parse + \
             convert to serde_json {convert}, parse + convert to JSON bytes {to_json}, as an SMT to the \
             map form {apply}, as an SMT to JSON text {apply_json}",
            bundle["entry"].as_array().map_or(0, Vec::len),
            out.len()
        );
        g.bench_function(format!("{name}_parse_and_convert"), |b| {
            b.iter(|| {
                let msg = Message::parse(raw.clone()).expect("parses");
                smt.convert(&msg).expect("converts")
            })
        });
        g.bench_function(format!("{name}_parse_and_convert_to_json_bytes"), |b| {
            b.iter(|| {
                let msg = Message::parse(raw.clone()).expect("parses");
                out.clear();
                smt.convert_to_json(&msg, &mut out).expect("converts")
            })
        });
        g.bench_function(format!("{name}_smt_apply_to_map_value"), |b| {
            b.iter(|| smt.apply(record.clone()).expect("applies"))
        });
        g.bench_function(format!("{name}_smt_apply_to_json_text"), |b| {
            b.iter(|| smt_json.apply(record.clone()).expect("applies"))
        });
        g.bench_function(
            format!("{name}_serde_json_writes_the_finished_bundle"),
            |b| {
                b.iter(|| {
                    out.clear();
                    serde_json::to_writer(&mut out, &bundle).expect("writes");
                    out.len()
                })
            },
        );
    }
    g.finish();
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Sends `per_sender` messages on each of `senders` connections, each waiting for its ACK before the
/// next (as MLLP senders do); returns the time for all.
async fn drive(
    addr: &str,
    senders: usize,
    per_sender: usize,
    msg: &Arc<Vec<u8>>,
    round: u64,
) -> Duration {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..senders {
        let addr = addr.to_owned();
        let msg = msg.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = TcpStream::connect(&addr).await.expect("connect");
            let text = String::from_utf8_lossy(&msg).into_owned();
            let mut buf = vec![0u8; 4096];
            let mut dec = FrameDecoder::new(1 << 20);
            for i in 0..per_sender {
                // A distinct control id per message, so none is suppressed as a resend.
                let m = text.replacen("MSG00001", &format!("R{round}S{s}M{i}"), 1);
                conn.write_all(&encode_frame(m.as_bytes()))
                    .await
                    .expect("send");
                loop {
                    if let Some(frame) = dec.next_frame() {
                        let ack = frame.expect("ack frame");
                        assert!(ack.windows(6).any(|w| w == b"MSA|AA"), "AA");
                        break;
                    }
                    let n = conn.read(&mut buf).await.expect("read");
                    assert!(n > 0, "connection closed");
                    dec.extend(&buf[..n]);
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("sender");
    }
    start.elapsed()
}

/// A listener that parses each message and ACKs it at once: MLLP without Kafka.
async fn ack_at_once(listener: TcpListener) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let mut dec = FrameDecoder::new(1 << 20);
            let mut buf = vec![0u8; 8192];
            loop {
                let n = match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                dec.extend(&buf[..n]);
                while let Some(Ok(frame)) = dec.next_frame() {
                    let Ok(msg) = Message::parse(frame) else {
                        return;
                    };
                    let ack = build_ack(Some(&msg), AckCode::AA, "ACK", None);
                    if conn.write_all(&encode_frame(&ack)).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
}

fn mllp_source(c: &mut Criterion) {
    const SENDERS: usize = 8;
    const PER_SENDER: usize = 250;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let msg = Arc::new(
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../testdata/hl7/corpus/ADT-A01-01.hl7"
        ))
        .expect("corpus file"),
    );
    let (worker, addr) = rt.block_on(async {
        let mut registry = Registry::with_builtins();
        connect_sources::register(&mut registry);
        // The MLLP connector's producer defaults (linger.ms=0) apply; the worker sets nothing.
        let worker = Worker::start(Props::new(), registry).await.expect("worker");
        let cluster = worker.embedded().expect("embedded cluster");
        cluster
            .create_topic("clinical.patient.admitted", 1, 1)
            .expect("topic");
        let addr = format!("127.0.0.1:{}", free_port());
        worker
            .start_connector(ConnectorConfig::new(
                "mllp-bench",
                Props::new()
                    .with("name", "mllp-bench")
                    .with("connector.class", "MllpSource")
                    .with("mllp.bind", addr.clone())
                    .with(
                        "value.converter",
                        "org.apache.kafka.connect.storage.StringConverter",
                    ),
            ))
            .await
            .expect("connector");
        while TcpStream::connect(&addr).await.is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (worker, addr)
    });
    let peer_addr = format!("127.0.0.1:{}", free_port());
    rt.block_on(async {
        let l = TcpListener::bind(&peer_addr).await.expect("bind");
        tokio::spawn(ack_at_once(l));
    });
    let mut g = c.benchmark_group("hl7/mllp_8_senders");
    g.throughput(Throughput::Elements((SENDERS * PER_SENDER) as u64));
    g.sample_size(10);
    let mut round = 0u64;
    g.bench_function("mllp_source_ack_after_kafka", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                total += rt.block_on(drive(&addr, SENDERS, PER_SENDER, &msg, round));
            }
            total
        })
    });
    g.bench_function("peer_listener_ack_at_once_no_kafka", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                total += rt.block_on(drive(&peer_addr, SENDERS, PER_SENDER, &msg, round));
            }
            total
        })
    });
    g.finish();
    rt.block_on(worker.shutdown());
}

criterion_group!(hl7, parse_and_query, hl7_to_fhir, mllp_source);

fn main() {
    hl7();
    Criterion::default().configure_from_args().final_summary();
}
