//! A PostgreSQL server for the PostgreSQL CDC and database sink tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::free_port;

/// A PostgreSQL server from Debian's `postgresql` package, in a temporary data directory, listening
/// on a free loopback port with logical decoding on (`wal_level=logical`, replication slots and WAL
/// senders available). The superuser `postgres` has no password (trust on loopback);
/// [`Postgres::exec`] runs SQL through `psql` (independent of the driver under test). When the tests
/// run as root, the server runs as the `postgres` system user (PostgreSQL refuses root). Killed
/// (SIGKILL) on drop, and the data directory removed.
pub struct Postgres {
    process: crate::process::Process,
    port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
    extra: Vec<String>,
}

/// The directory holding `initdb` and `postgres` (the newest installed major version).
fn pg_bin() -> PathBuf {
    if let Ok(p) = std::env::var("PG_BIN") {
        return PathBuf::from(p);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, b)| b)
        .expect("postgresql is not installed: run scripts/setup.sh")
}

fn is_root() -> bool {
    // The effective uid, from /proc: no libc dependency for one number.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// A command that runs `program` as the `postgres` user when we are root (setpriv replaces itself
/// with the program, so the child's pid is the server's and SIGKILL reaches it).
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ])
        .arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl Postgres {
    /// Initialises a data directory and starts the server (waits up to 60 s until it answers).
    pub fn start() -> Postgres {
        Self::start_with(&[])
    }

    /// A data directory made by initdb, with `settings` for the server; not started yet.
    fn init(settings: &[&str]) -> Postgres {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let bin = pg_bin();
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(
                ok,
                "chown of the data directory to the postgres user failed"
            );
        }
        let out = as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(dir.path().join("data"))
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
            .arg("--locale=C")
            .output()
            .expect("running initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Postgres {
            process: crate::process::Process::default(),
            port: free_port(),
            dir,
            bin,
            extra: settings.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Starts a server with extra `settings` (`name=value`, as `postgres -c` takes them).
    pub fn start_with(settings: &[&str]) -> Postgres {
        let mut pg = Self::init(settings);
        pg.spawn();
        pg
    }

    /// Starts a server with TLS: `cert_pem` (the server's certificate chain) and `key_pem` (its
    /// key). TCP connections without TLS are refused (`hostnossl ... reject`), so a client that
    /// connects at all has encrypted.
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> Postgres {
        let mut pg = Self::init(&[]);
        let d = pg.dir.path().to_path_buf();
        let hba = "local all all trust\n\
                   hostssl all all 127.0.0.1/32 trust\n\
                   hostssl replication all 127.0.0.1/32 trust\n\
                   hostnossl all all 0.0.0.0/0 reject\n\
                   hostnossl replication all 0.0.0.0/0 reject\n";
        for (name, content) in [
            ("server.crt", cert_pem),
            ("server.key", key_pem),
            ("pg_hba_tls.conf", hba),
        ] {
            let path = d.join(name);
            std::fs::write(&path, content).expect("a server file is written");
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .expect("permissions");
            if is_root() {
                let _ = Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&path)
                    .status();
            }
        }
        pg.extra = vec![
            "ssl=on".to_owned(),
            format!("ssl_cert_file={}", d.join("server.crt").display()),
            format!("ssl_key_file={}", d.join("server.key").display()),
            format!("hba_file={}", d.join("pg_hba_tls.conf").display()),
        ];
        pg.spawn();
        pg
    }

    fn spawn(&mut self) {
        let d = self.dir.path();
        let log = std::fs::File::create(d.join("server.log")).expect("server log");
        if is_root() {
            let _ = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(d.join("server.log"))
                .status();
        }
        let mut cmd = as_postgres(&self.bin.join("postgres"));
        cmd.arg("-D")
            .arg(d.join("data"))
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(d);
        for s in [
            "listen_addresses=127.0.0.1",
            "wal_level=logical",
            "max_replication_slots=16",
            "max_wal_senders=16",
            // Safe for the tests' crashes (a killed server, not a lost machine: the page cache stays).
            // synchronous_commit stays on: with it off, a kill loses transactions already committed.
            "fsync=off",
            "full_page_writes=off",
            "shared_buffers=32MB",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(self.extra.iter().cloned())
        {
            cmd.arg("-c").arg(s);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting postgres");
        self.process.set(child);
        crate::process::wait_ready(
            &format!("postgres on port {}", self.port),
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

    /// A `postgres://postgres@127.0.0.1:PORT/postgres` URL.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs SQL (several statements allowed, stopping at the first error) in database `postgres` as
    /// the superuser; returns what psql printed (unaligned, tuples only, `|` between columns).
    ///
    /// The statements go to the server as one query string, so those outside an explicit
    /// `BEGIN`..`COMMIT` form one implicit transaction (and a `BEGIN`..`ROLLBACK` later in the
    /// string rolls them back too). [`Postgres::script`] runs each statement on its own.
    pub fn try_exec(&self, sql: &str) -> Result<String, String> {
        let out = self.psql().arg("-c").arg(sql).output();
        crate::process::output_text(out)
    }

    /// Runs SQL as a script, as `psql -f` does: each statement is sent on its own and, outside an
    /// explicit `BEGIN`..`COMMIT`, commits on its own. Panics at the first error.
    pub fn script(&self, sql: &str) -> String {
        use std::io::Write;
        let run = || -> std::io::Result<std::process::Output> {
            let mut child = self
                .psql()
                .args(["-f", "-"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()?;
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(sql.as_bytes())?;
            }
            child.wait_with_output()
        };
        crate::process::output_text(run()).unwrap_or_else(|e| panic!("SQL failed: {e}\n{sql}"))
    }

    fn psql(&self) -> Command {
        let psql = ["psql"]
            .iter()
            .map(|n| self.bin.join(n))
            .find(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("psql"));
        let mut cmd = Command::new(psql);
        cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"])
            .arg("-p")
            .arg(self.port.to_string());
        cmd
    }

    /// As [`Postgres::try_exec`], panicking on an SQL error.
    pub fn exec(&self, sql: &str) -> String {
        self.try_exec(sql)
            .unwrap_or_else(|e| panic!("SQL failed: {e}\n{sql}"))
    }

    /// Kills the server (SIGKILL) and waits for it to exit; the data directory stays.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Starts the server again on the same port and data directory (after [`Postgres::kill`]); it
    /// recovers from its WAL as after a crash.
    pub fn restart(&mut self) {
        self.kill();
        // A killed postmaster leaves its pid file; the new one checks the pid is gone.
        self.spawn();
    }
}
