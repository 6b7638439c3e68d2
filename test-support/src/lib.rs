//! Real peers for the tests of every crate, each started on a free loopback port and stopped when its
//! guard is dropped. Installed by `scripts/setup.sh`.

pub mod azurite;
pub mod gcs;
pub mod hfs;
pub mod kafka;
pub mod opensearch;
pub mod pki;
pub mod postgres;
mod process;
pub mod s3;
pub use azurite::Azurite;
pub use gcs::Gcs;
pub use hfs::Hfs;
pub use kafka::{produce, topic_records, wait_for_records, Stored, TopicTail};
pub use opensearch::OpenSearch;
pub use pki::TestPki;
pub use postgres::Postgres;
pub use s3::S3;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The converters the seed's connectors set: JsonConverter for key and value, schemas off.
pub const SEED_CONVERTERS: [(&str, &str); 4] = [
    (
        "key.converter",
        "org.apache.kafka.connect.json.JsonConverter",
    ),
    ("key.converter.schemas.enable", "false"),
    (
        "value.converter",
        "org.apache.kafka.connect.json.JsonConverter",
    ),
    ("value.converter.schemas.enable", "false"),
];

/// A free loopback port (bound, then released).
/// The seed's JSON block of connector `name` (`{"name": ..., "config": {...}}`), from the
/// repository's copy of the seed (`testdata/seed/connectors.md`).
pub fn seed_connector(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/seed/connectors.md");
    let md = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let block = md
        .split("```json")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains(&format!("\"name\": \"{name}\"")))
        .unwrap_or_else(|| panic!("the seed has no connector {name}"));
    serde_json::from_str(block).unwrap_or_else(|e| panic!("the seed's {name} JSON: {e}"))
}

/// Polls `f` every 250 ms until it gives a value, at most `secs` seconds; panics naming `what`.
pub async fn wait_until<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Sends the process's `tracing` events to the test harness's captured output, which is printed
/// only for a failed test: warnings by default (the runtime's retries, redeliveries and task
/// failures), `RUST_LOG` to choose. For tests whose rare failures need the runtime's side of the
/// story. The first call in a test binary installs it; later calls do nothing.
pub fn log_to_test_output() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// Ends the test process when a test runs longer than `limit`, naming the test: a hang (a
/// blocked runtime thread, a lost wake-up) then fails the run at once instead of stalling it until
/// CI's own limit. Dropping the guard (the test finished, or panicked) disarms it.
#[must_use = "the watchdog is disarmed when the guard is dropped"]
pub fn watchdog(name: &'static str, limit: std::time::Duration) -> Watchdog {
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = done.clone();
    std::thread::spawn(move || {
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            std::thread::sleep(std::time::Duration::from_millis(200));
            if flag.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
        }
        eprintln!("watchdog: {name} ran longer than {limit:?}; ending the test process");
        std::process::exit(101);
    });
    Watchdog(done)
}

/// Disarms [`watchdog`] when dropped.
pub struct Watchdog(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A `tansu` Kafka broker process with in-memory storage. Killed (SIGKILL) on drop.
pub struct Tansu {
    process: process::Process,
    port: u16,
}

fn tansu_bin() -> PathBuf {
    if let Ok(p) = std::env::var("TANSU_BIN") {
        return PathBuf::from(p);
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = PathBuf::from(dir).join("tansu");
        if p.is_file() {
            return p;
        }
    }
    let home = PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo/bin/tansu");
    if home.is_file() {
        return home;
    }
    panic!("tansu is not installed: run scripts/setup.sh (cargo install tansu --locked --features dynostore,postgres)");
}

impl Tansu {
    /// Starts a broker on a free port and waits (up to 20 s) until it accepts connections.
    pub fn start() -> Tansu {
        let mut t = Tansu {
            process: process::Process::default(),
            port: free_port(),
        };
        t.spawn();
        t
    }

    fn spawn(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(tansu_bin())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting tansu");
        self.process.set(child);
        let addr = self.addr();
        process::wait_ready(
            &format!("tansu on {addr}"),
            Duration::from_secs(20),
            None,
            || std::net::TcpStream::connect(&addr).is_ok(),
        );
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the broker (SIGKILL: no clean shutdown) and waits for it to exit.
    pub fn kill(&mut self) {
        self.process.kill();
    }
}

/// A `tracing` writer that keeps everything written, for tests that scan logs (for patient data, say).
/// `tracing_subscriber::fmt().with_writer(move || logs.clone())`.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A MariaDB server from Debian's `mariadb-server` package, in a temporary data directory, listening on
/// a free loopback port with the binlog settings CDC needs (`--log-bin --binlog-format=ROW
/// --binlog-row-image=FULL --server-id=1`). `root` has no password; [`MariaDb::exec`] runs SQL through
/// the `mariadb` command-line client (independent of the driver under test). Killed (SIGKILL) on drop,
/// and the data directory removed.
pub struct MariaDb {
    process: process::Process,
    port: u16,
    dir: tempfile::TempDir,
    extra: Vec<String>,
}

fn find_bin(names: &[&str]) -> Option<PathBuf> {
    for dir in std::env::var("PATH").unwrap_or_default().split(':').chain([
        "/usr/sbin",
        "/usr/bin",
        "/usr/local/bin",
    ]) {
        for n in names {
            let p = PathBuf::from(dir).join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

impl MariaDb {
    /// Initialises a data directory and starts the server (waits up to 60 s until it answers).
    pub fn start() -> MariaDb {
        Self::start_with(&[])
    }

    /// As [`MariaDb::start`], with extra server options (say `--binlog-row-metadata=FULL`).
    pub fn start_with(extra: &[&str]) -> MariaDb {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let install = find_bin(&["mariadb-install-db", "mysql_install_db"])
            .expect("mariadb-server is not installed: run scripts/setup.sh");
        // Each server its own temporary directory: concurrent bootstraps in one /tmp collide on the
        // names of their temporary tables.
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&tmp).expect("a temporary directory for the server");
        let out = Command::new(install)
            .env("TMPDIR", &tmp)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", dir.path().join("data").display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args([
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root",
            ])
            .output()
            .expect("running mariadb-install-db");
        assert!(
            out.status.success(),
            "mariadb-install-db failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut db = MariaDb {
            process: process::Process::default(),
            port: free_port(),
            dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        db.spawn();
        db
    }

    fn spawn(&mut self) {
        let d = self.dir.path();
        let server = find_bin(&["mariadbd", "mysqld"]).expect("mariadbd is not installed");
        let log = std::fs::File::create(d.join("server.log")).expect("server log");
        let child = Command::new(server)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", d.join("data").display()))
            .arg(format!("--socket={}", d.join("sock").display()))
            .arg(format!("--pid-file={}", d.join("pid").display()))
            .arg(format!("--log-bin={}", d.join("data/binlog").display()))
            .arg(format!("--port={}", self.port))
            .arg(format!("--tmpdir={}", d.join("tmp").display()))
            .args([
                "--bind-address=127.0.0.1",
                "--binlog-format=ROW",
                "--binlog-row-image=FULL",
                "--server-id=1",
                "--user=root",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=16M",
                "--skip-log-error",
            ])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting mariadbd");
        self.process.set(child);
        process::wait_ready(
            &format!("mariadbd on port {}", self.port),
            Duration::from_secs(60),
            Some(&d.join("server.log")),
            || {
                std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                    && self.try_exec("SELECT 1").is_ok()
            },
        );
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A `mysql://root@127.0.0.1:PORT` URL.
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    /// Runs SQL (several statements allowed) as root; returns what the client printed (tab-separated,
    /// no column names).
    pub fn try_exec(&self, sql: &str) -> Result<String, String> {
        let client =
            find_bin(&["mariadb", "mysql"]).ok_or("the mariadb client is not installed")?;
        let out = Command::new(client)
            .args(["--no-defaults", "-uroot", "-h127.0.0.1", "-N", "-B"])
            .arg(format!("-P{}", self.port))
            .arg("-e")
            .arg(sql)
            .output();
        process::output_text(out)
    }

    /// The current binlog position (`SHOW MASTER STATUS`): file and position.
    pub fn master_status(&self) -> (String, u64) {
        let out = self.exec("SHOW MASTER STATUS");
        let mut cols = out.split('\t');
        let file = cols.next().unwrap_or_default().trim().to_owned();
        let pos = cols
            .next()
            .and_then(|p| p.trim().parse().ok())
            .expect("SHOW MASTER STATUS gives a position (is log_bin on?)");
        (file, pos)
    }

    /// The base config of a CDC connector `name` on this server (as root), topics under `prefix`,
    /// schema history in `schema-changes.<prefix>` on the worker's cluster, schemaless JSON, topics
    /// created on demand; as key/value pairs, to extend or override.
    pub fn cdc_source_config(&self, name: &str, prefix: &str) -> Vec<(String, String)> {
        [
            ("name", name.to_owned()),
            (
                "connector.class",
                "io.debezium.connector.mariadb.MariaDbConnector".to_owned(),
            ),
            ("database.hostname", "127.0.0.1".to_owned()),
            ("database.port", self.port.to_string()),
            ("database.user", "root".to_owned()),
            ("database.server.id", "77".to_owned()),
            ("topic.prefix", prefix.to_owned()),
            (
                "schema.history.internal.kafka.topic",
                format!("schema-changes.{prefix}"),
            ),
            ("topic.creation.default.replication.factor", "1".to_owned()),
            ("topic.creation.default.partitions", "1".to_owned()),
        ]
        .into_iter()
        .chain(SEED_CONVERTERS.map(|(k, v)| (k, v.to_owned())))
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// As [`MariaDb::try_exec`], panicking on an SQL error.
    pub fn exec(&self, sql: &str) -> String {
        self.try_exec(sql)
            .unwrap_or_else(|e| panic!("SQL failed: {e}\n{sql}"))
    }

    /// Kills the server (SIGKILL) and waits for it to exit; the data directory stays.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Starts the server again on the same port and data directory (after [`MariaDb::kill`]).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}
