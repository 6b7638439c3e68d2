//! `connect-transform`: the SMT playground (`cargo run --example transform`) as an installable
//! binary. Same program; see `connect_examples::playground`.

fn main() {
    std::process::exit(connect_examples::playground::run_from_env());
}
