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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = connect_examples::playground::run(
        &args,
        std::io::stdin().lock(),
        std::io::stdout().lock(),
        std::io::stderr(),
    );
    std::process::exit(code);
}
