#!/usr/bin/env bash
# Runs the whole test suite. Installs missing test dependencies first (scripts/setup.sh);
# the tests start and stop the brokers they need themselves, on loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
# A whole-suite run builds once: incremental caches would only take disk (gigabytes of it).
export CARGO_INCREMENTAL=0
cargo test --workspace --all-targets
cargo test --workspace --doc
