//! `connect-transform`: the SMT playground (`cargo run --example transform`) as an installable
//! binary. Same program; see `connect_examples::playground`.

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
