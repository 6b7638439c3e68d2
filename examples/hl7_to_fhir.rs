//! HL7 v2 to FHIR R4 on your own messages: prints, for each message in the given files (single
//! messages or batch files), its FHIR Bundle as one line of JSON.
//!
//! ```text
//! cargo run --example hl7_to_fhir -- testdata/hl7/corpus/ADT-A01-01.hl7
//! cargo run --example hl7_to_fhir -- --timezone=-05:00 --unmappable=fail feed/*.hl7
//! ```
//!
//! Options are the HL7ToFHIR SMT's keys: `--timezone=`, `--unmappable=skip|fail`,
//! `--bundle.type=transaction|batch`, `--resource.type=Patient`. A message that cannot be converted is
//! reported on stderr with its file and position; the others are still printed, and the exit code
//! is 1.
//!
//! Each Bundle is written straight into one reused buffer (`Hl7ToFhir::convert_to_json`), the
//! fastest way to turn messages into FHIR JSON; `convert` gives a `serde_json::Value` instead.

use std::io::Write;

use connect_core::config::Props;
use connect_core::hl7::parse_batch;
use connect_core::record::SourceRecord;
use connect_core::transform::Transformation;
use connect_smt::hl7_to_fhir::Hl7ToFhir;
use connect_smt::Target;

/// The conversion makes many small allocations: mimalloc runs it 1.7-2.2x as fast as glibc's malloc
/// (BENCHMARKS.md, HL7ToFHIR). A library cannot choose the allocator; a binary does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut props = Props::new();
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.strip_prefix("--").and_then(|a| a.split_once('=')) {
            Some((k, v)) => {
                props.set(k, v);
            }
            None if arg == "--help" || arg == "-h" => {
                println!("usage: hl7_to_fhir [--timezone=±hh:mm] [--unmappable=skip|fail] [--bundle.type=transaction|batch] [--resource.type=TYPE] FILE...");
                return;
            }
            None => files.push(arg),
        }
    }
    if files.is_empty() {
        eprintln!("usage: hl7_to_fhir [options] FILE...");
        std::process::exit(2);
    }
    let mut smt = Hl7ToFhir::new(Target::Value);
    if let Err(e) = Transformation::<SourceRecord>::configure(&mut smt, &props) {
        eprintln!("{e}");
        std::process::exit(2);
    }
    let mut failed = false;
    let mut out = Vec::new();
    let mut stdout = std::io::stdout().lock();
    for file in &files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{file}: {e}");
                failed = true;
                continue;
            }
        };
        let messages = match parse_batch(bytes.into()) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("{file}: not HL7 v2: {e}");
                failed = true;
                continue;
            }
        };
        for (i, msg) in messages.iter().enumerate() {
            out.clear();
            match smt.convert_to_json(msg, &mut out) {
                Ok(true) => out.push(b'\n'),
                Ok(false) => out.extend_from_slice(b"null\n"),
                Err(e) => {
                    eprintln!("{file} message {}: {e}", i + 1);
                    failed = true;
                    continue;
                }
            }
            if let Err(e) = stdout.write_all(&out) {
                eprintln!("stdout: {e}");
                std::process::exit(1);
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
