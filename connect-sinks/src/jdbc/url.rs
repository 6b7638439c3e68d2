//! `connection.url` in JDBC form: `jdbc:postgresql://host[:port][,host2[:port]]/database?k=v&…`,
//! `jdbc:mariadb://…` and `jdbc:mysql://…`, as Kafka Connect users already write them.

use connect_core::error::ConfigError;

/// The database family a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialectKind {
    /// `jdbc:postgresql:`.
    Postgres,
    /// `jdbc:mariadb:` and `jdbc:mysql:`.
    MySql,
}

/// A parsed `connection.url`.
#[derive(Clone, PartialEq, Eq)]
pub struct JdbcUrl {
    /// The database family.
    pub dialect: DialectKind,
    /// Hosts and ports, tried in order.
    pub hosts: Vec<(String, u16)>,
    /// The database (empty: the server's default for the user).
    pub database: String,
    /// Query parameters, in order (`user` and `password` among them when the URL carries them).
    pub params: Vec<(String, String)>,
}

impl std::fmt::Debug for JdbcUrl {
    // The password a URL may carry is never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JdbcUrl")
            .field("dialect", &self.dialect)
            .field("hosts", &self.hosts)
            .field("database", &self.database)
            .field(
                "params",
                &self
                    .params
                    .iter()
                    .map(|(k, v)| (k.as_str(), if k == "password" { "[hidden]" } else { v }))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

const KEY: &str = "connection.url";

fn bad(why: impl Into<String>) -> ConfigError {
    ConfigError::new(KEY, why)
}

/// Percent-decodes a query component (`+` is a space, as in form encoding).
fn decode(s: &str) -> Result<String, ConfigError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| bad("a '%' in the query is not followed by two hex digits"))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| bad("the query is not UTF-8 once decoded"))
}

impl JdbcUrl {
    /// Parses a JDBC URL. Errors say what is wrong with its form, never echo it (it may hold a
    /// password).
    pub fn parse(url: &str) -> Result<JdbcUrl, ConfigError> {
        let rest = url
            .strip_prefix("jdbc:")
            .ok_or_else(|| bad("expected a JDBC URL starting with jdbc:postgresql://, jdbc:mariadb:// or jdbc:mysql://"))?;
        let (dialect, rest, default_port) = if let Some(r) = rest.strip_prefix("postgresql://") {
            (DialectKind::Postgres, r, 5432)
        } else if let Some(r) = rest
            .strip_prefix("mariadb://")
            .or_else(|| rest.strip_prefix("mysql://"))
        {
            (DialectKind::MySql, r, 3306)
        } else {
            return Err(bad(
                "unsupported database: this sink writes to PostgreSQL (jdbc:postgresql://), MariaDB (jdbc:mariadb://) and MySQL (jdbc:mysql://)",
            ));
        };
        let (authority_path, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let (authority, database) = match authority_path.split_once('/') {
            Some((a, d)) => (a, d),
            None => (authority_path, ""),
        };
        if authority.contains('@') {
            return Err(bad(
                "credentials belong in connection.user and connection.password (or ?user=&password=), not before the host",
            ));
        }
        let mut hosts = Vec::new();
        for h in authority.split(',').filter(|h| !h.is_empty()) {
            let (host, port) = if let Some(v6) = h.strip_prefix('[') {
                let (addr, after) = v6
                    .split_once(']')
                    .ok_or_else(|| bad("an IPv6 host is missing its closing ']'"))?;
                (addr, after.strip_prefix(':'))
            } else {
                match h.rsplit_once(':') {
                    Some((host, port)) => (host, Some(port)),
                    None => (h, None),
                }
            };
            if host.is_empty() {
                return Err(bad("a host is empty"));
            }
            let port = match port {
                Some(p) => p
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| bad("a port is not a number from 1 to 65535"))?,
                None => default_port,
            };
            hosts.push((host.to_owned(), port));
        }
        if hosts.is_empty() {
            return Err(bad("no host"));
        }
        if hosts.len() > 16 {
            return Err(bad("more than 16 hosts"));
        }
        let mut params = Vec::new();
        if let Some(q) = query {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                params.push((decode(k)?, decode(v)?));
            }
        }
        Ok(JdbcUrl {
            dialect,
            hosts,
            database: decode(database)?,
            params,
        })
    }

    /// A query parameter (the last one when repeated), matched without regard to case.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_and_mariadb_urls() {
        let u = JdbcUrl::parse(
            "jdbc:postgresql://db1:5433,db2/warehouse?currentSchema=clinical&sslmode=disable",
        )
        .unwrap();
        assert_eq!(u.dialect, DialectKind::Postgres);
        assert_eq!(u.hosts, vec![("db1".into(), 5433), ("db2".into(), 5432)]);
        assert_eq!(u.database, "warehouse");
        assert_eq!(u.param("currentschema"), Some("clinical"));
        let m =
            JdbcUrl::parse("jdbc:mariadb://[::1]:3307/clinical?user=sink&password=p%40ss").unwrap();
        assert_eq!(m.dialect, DialectKind::MySql);
        assert_eq!(m.hosts, vec![("::1".into(), 3307)]);
        assert_eq!(m.param("password"), Some("p@ss"));
        assert!(!format!("{m:?}").contains("p@ss"));
        assert_eq!(
            JdbcUrl::parse("jdbc:mysql://h").unwrap().hosts,
            vec![("h".into(), 3306)]
        );
    }

    #[test]
    fn malformed_urls_are_config_errors_that_do_not_echo_the_url() {
        for u in [
            "postgresql://h/db",
            "jdbc:sqlserver://h;databaseName=x",
            "jdbc:postgresql:///db",
            "jdbc:postgresql://h:99999/db",
            "jdbc:postgresql://user:secret@h/db",
            "jdbc:mysql://h/db?password=%zz",
            "jdbc:mysql://[::1/db",
        ] {
            let e = JdbcUrl::parse(u).unwrap_err().to_string();
            assert!(e.contains("connection.url"), "{e}");
            assert!(!e.contains("secret") && !e.contains(u), "{e}");
        }
    }
}
