//! The SMT playground: applies a connector config's transform chain to JSON record lines.
//!
//! ```text
//! cargo run --example transform -- --config CONNECTOR.json < records.jsonl
//! ```
//!
//! The record line format is documented in `connect_examples::playground`. Try it on the seed's
//! PHI-masking chain:
//!
//! ```text
//! echo '{"value": {"mrn": "M1", "ssn": "123-45-6789"}}' |
//!   cargo run --example transform -- --config examples/configs/mask-ssn.json
//! ```

fn main() {
    std::process::exit(connect_examples::playground::run_from_env());
}
