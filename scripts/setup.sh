#!/usr/bin/env bash
# Installs what the tests need on a fresh machine, skipping what is already there.
# Used by .ci/run and by scripts/test.sh; safe to run again.
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v perl >/dev/null 2>&1 || need_apt+=(perl)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
# librdkafka is built from source by rdkafka-sys (with OpenSSL and zlib).
dpkg -s libssl-dev >/dev/null 2>&1 || need_apt+=(libssl-dev)
dpkg -s zlib1g-dev >/dev/null 2>&1 || need_apt+=(zlib1g-dev)
dpkg -s pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
# MariaDB for the MySQL/MariaDB CDC tests: the tests start their own server in a temporary directory.
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need_apt+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || need_apt+=(mariadb-client)
# PostgreSQL for the PostgreSQL CDC and database sink tests (a server per test, wal_level=logical);
# setpriv (util-linux) runs it as the postgres user when the tests run as root.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v psql >/dev/null 2>&1 || need_apt+=(postgresql-client)
command -v setpriv >/dev/null 2>&1 || need_apt+=(util-linux)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  # The package starts a system-wide server; the tests start their own.
  if [ -x /etc/init.d/mariadb ]; then /etc/init.d/mariadb stop >/dev/null 2>&1 || true; fi
  if [ -x /etc/init.d/postgresql ]; then /etc/init.d/postgresql stop >/dev/null 2>&1 || true; fi
fi

# tansu: a separate Kafka-compatible broker process for the tests against a real broker.
if ! command -v tansu >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tansu" ]; then
  echo "setup: installing tansu (takes about 15 minutes on 2 cores)"
  cargo install tansu --locked --features dynostore,postgres
fi
# helios-hfs: the FHIR server (binary hfs) the FHIR source and sink are tested against.
if ! command -v hfs >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/hfs" ]; then
  echo "setup: installing helios-hfs (takes about 30 minutes on 2 cores)"
  cargo install helios-hfs --version 0.2.7 --locked
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# venv_install NAME IMPORT PACKAGE...: a virtualenv target/NAME holding PACKAGE..., unless IMPORT
# already imports there; pip is retried once.
venv_install() {
  local venv="$root/target/$1" import="$2"
  shift 2
  if "$venv/bin/python" -c "import $import" >/dev/null 2>&1; then
    return 0
  fi
  echo "setup: installing $* into $venv"
  mkdir -p "$root/target"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq python3-venv
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check "$@" \
    || { echo "setup: pip failed, retrying once"; sleep 5; "$venv/bin/pip" install -q --disable-pip-version-check "$@"; }
}
# The FHIR R4 validator the HL7ToFHIR tests check Bundles with: fhir.resources 6.4.0 (FHIR 4.0.1
# models, pydantic 1).
venv_install fhir-venv fhir.resources 'fhir.resources==6.4.0' 'pydantic>=1.10,<2'
# The OpenSearch-compatible peer of the Elasticsearch sink's tests: osmem-server 0.1.6 (MIT; an
# in-memory server with real per-item _bulk statuses, a static binary inside the wheel).
venv_install search-venv osmem_server 'osmem-server==0.1.6'
# The S3 peer of the archive sink's tests: moto's server 5.2.1 (Apache-2.0), and pyarrow 26.0.1
# (Apache-2.0) to read its Parquet files back.
venv_install s3-venv 'moto.server, pyarrow' 'moto[server]==5.2.1' 'pyarrow==26.0.1'
# The Google Cloud Storage peer of the archive sink's tests: gcp-storage-emulator 2026.7.19 (BSD-3-Clause;
# Python, JSON and XML APIs).
venv_install gcs-venv gcp_storage_emulator 'gcp-storage-emulator==2026.7.19'
# The Azure Blob Storage peer: Microsoft's Azurite 3.37.0 (MIT, npm) under target/azurite, and
# Microsoft's Python SDK to create containers and read blobs back.
venv_install azure-venv azure.storage.blob 'azure-storage-blob==12.31.1'
if [ ! -x "$root/target/azurite/node_modules/.bin/azurite-blob" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  echo "setup: installing azurite into $root/target/azurite"
  mkdir -p "$root/target/azurite"
  npm install --prefix "$root/target/azurite" --no-audit --no-fund --loglevel=error azurite@3.37.0 \
    || { echo "setup: npm failed, retrying once"; sleep 5; npm install --prefix "$root/target/azurite" --no-audit --no-fund --loglevel=error azurite@3.37.0; }
fi
echo "setup: done"
