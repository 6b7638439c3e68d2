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
# The FHIR R4 validator the HL7ToFHIR tests check Bundles with: fhir.resources 6.4.0 (FHIR 4.0.1
# models, pydantic 1), in a virtualenv under target/ so nothing system-wide changes.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/target/fhir-venv"
if ! "$venv/bin/python" -c 'import fhir.resources' >/dev/null 2>&1; then
  echo "setup: installing the FHIR R4 validator (fhir.resources) into $venv"
  mkdir -p "$root/target"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq python3-venv
    python3 -m venv "$venv"
  fi
  pip_install() {
    "$venv/bin/pip" install -q --disable-pip-version-check 'fhir.resources==6.4.0' 'pydantic>=1.10,<2'
  }
  pip_install || { echo "setup: pip failed, retrying once"; sleep 5; pip_install; }
fi
# The OpenSearch-compatible peer of the Elasticsearch sink's tests: osmem-server 0.1.6 (MIT; an
# in-memory server with real per-item _bulk statuses, a static binary inside the wheel), in its own
# virtualenv under target/.
search_venv="$root/target/search-venv"
if ! "$search_venv/bin/python" -c 'import osmem_server' >/dev/null 2>&1; then
  echo "setup: installing osmem-server into $search_venv"
  python3 -m venv "$search_venv"
  osmem_install() {
    "$search_venv/bin/pip" install -q --disable-pip-version-check 'osmem-server==0.1.6'
  }
  osmem_install || { echo "setup: pip failed, retrying once"; sleep 5; osmem_install; }
fi
# The S3 peer of the archive sink's tests: moto's server (Apache-2.0) 5.2.1, in its own virtualenv.
s3_venv="$root/target/s3-venv"
if ! "$s3_venv/bin/python" -c 'import moto.server' >/dev/null 2>&1; then
  echo "setup: installing moto's S3 server into $s3_venv"
  python3 -m venv "$s3_venv"
  moto_install() {
    "$s3_venv/bin/pip" install -q --disable-pip-version-check 'moto[server]==5.2.1'
  }
  moto_install || { echo "setup: pip failed, retrying once"; sleep 5; moto_install; }
fi
echo "setup: done"
