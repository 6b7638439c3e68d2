//! Which databases, tables and columns are captured, which columns are masked at the source, and which
//! columns key a table's events: Debezium's include/exclude lists, `column.mask.*` and
//! `message.key.columns`.

use regex::{Regex, RegexBuilder};
use sha2::Digest;

use connect_core::config::split_list;
use connect_core::error::ConfigError;

use super::table::TableId;

fn full_match(pattern: &str, key: &str) -> Result<Regex, ConfigError> {
    RegexBuilder::new(&format!("^(?:{})$", pattern.trim()))
        .case_insensitive(true)
        .build()
        .map_err(|_| {
            ConfigError::new(
                key,
                "expected a comma-separated list of regular expressions (one did not compile)",
            )
        })
}

fn patterns(list: Option<&str>, key: &str) -> Result<Option<Vec<Regex>>, ConfigError> {
    match list.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => split_list(s)
            .iter()
            .map(|p| full_match(p, key))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
    }
}

fn any(ps: &[Regex], s: &str) -> bool {
    ps.iter().any(|p| p.is_match(s))
}

/// The capture filters. Patterns are regular expressions matched, case-insensitively, against the
/// whole name: `db` for databases, `db.table` for tables, `db.table.column` for columns.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    db_include: Option<Vec<Regex>>,
    db_exclude: Option<Vec<Regex>>,
    table_include: Option<Vec<Regex>>,
    table_exclude: Option<Vec<Regex>>,
    column_include: Option<Vec<Regex>>,
    column_exclude: Option<Vec<Regex>>,
    /// Databases never captured (the server's own).
    system_dbs: &'static [&'static str],
}

impl Filters {
    /// Reads `database.include.list` / `database.exclude.list`, `table.include.list` /
    /// `table.exclude.list`, `column.include.list` / `column.exclude.list` (an include list and its
    /// exclude list cannot both be set).
    pub fn new(
        get: impl Fn(&str) -> Option<String>,
        system_dbs: &'static [&'static str],
    ) -> Result<Filters, ConfigError> {
        let mut problems = ConfigError { problems: vec![] };
        let mut read = |k: &str| match patterns(get(k).as_deref(), k) {
            Ok(p) => p,
            Err(e) => {
                problems.extend(e);
                None
            }
        };
        let f = Filters {
            db_include: read("database.include.list"),
            db_exclude: read("database.exclude.list"),
            table_include: read("table.include.list"),
            table_exclude: read("table.exclude.list"),
            column_include: read("column.include.list"),
            column_exclude: read("column.exclude.list"),
            system_dbs,
        };
        for (inc, exc, name) in [
            (&f.db_include, &f.db_exclude, "database"),
            (&f.table_include, &f.table_exclude, "table"),
            (&f.column_include, &f.column_exclude, "column"),
        ] {
            if inc.is_some() && exc.is_some() {
                problems.extend(ConfigError::new(
                    format!("{name}.exclude.list"),
                    format!("cannot be set together with {name}.include.list"),
                ));
            }
        }
        if problems.problems.is_empty() {
            Ok(f)
        } else {
            Err(problems)
        }
    }

    /// Whether a database is captured at all.
    pub fn database(&self, db: &str) -> bool {
        if self.system_dbs.iter().any(|s| s.eq_ignore_ascii_case(db)) {
            return false;
        }
        if let Some(inc) = &self.db_include {
            return any(inc, db);
        }
        if let Some(exc) = &self.db_exclude {
            return !any(exc, db);
        }
        true
    }

    /// Whether a table is captured.
    pub fn table(&self, id: &TableId) -> bool {
        if !self.database(&id.db) {
            return false;
        }
        let name = id.dotted();
        if let Some(inc) = &self.table_include {
            return any(inc, &name);
        }
        if let Some(exc) = &self.table_exclude {
            return !any(exc, &name);
        }
        true
    }

    /// Whether a column of a captured table is in its events.
    pub fn column(&self, id: &TableId, column: &str) -> bool {
        let name = format!("{}.{}", id.dotted(), column);
        if let Some(inc) = &self.column_include {
            return any(inc, &name);
        }
        if let Some(exc) = &self.column_exclude {
            return !any(exc, &name);
        }
        true
    }
}

/// How a masked column's value is replaced.
#[derive(Debug, Clone)]
pub enum Mask {
    /// `column.mask.with.N.chars`: N asterisks.
    Stars(String),
    /// `column.mask.hash.ALG.with.salt.SALT`: the lowercase hex digest of salt + value.
    Hash {
        /// SHA-256, SHA-384 or SHA-512.
        algorithm: HashAlgorithm,
        /// The salt.
        salt: String,
    },
    /// `column.truncate.to.N.chars`: the first N characters.
    Truncate(usize),
}

/// Digests for hash masking.
#[derive(Debug, Clone, Copy)]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Mask {
    /// The masked text of a value.
    pub fn apply(&self, text: &str, column_length: Option<i32>) -> String {
        match self {
            Mask::Stars(s) => s.clone(),
            Mask::Truncate(n) => text.chars().take(*n).collect(),
            Mask::Hash { algorithm, salt } => {
                let mut input = Vec::with_capacity(salt.len() + text.len());
                input.extend_from_slice(salt.as_bytes());
                input.extend_from_slice(text.as_bytes());
                let digest: Vec<u8> = match algorithm {
                    HashAlgorithm::Sha256 => sha2::Sha256::digest(&input).to_vec(),
                    HashAlgorithm::Sha384 => sha2::Sha384::digest(&input).to_vec(),
                    HashAlgorithm::Sha512 => sha2::Sha512::digest(&input).to_vec(),
                };
                let mut hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                if let Some(len) = column_length.filter(|l| *l > 0) {
                    hex.truncate(len as usize);
                }
                hex
            }
        }
    }
}

/// The masks configured, each with the column patterns (`db.table.column`) it applies to.
#[derive(Debug, Clone, Default)]
pub struct Masks(Vec<(Vec<Regex>, Mask)>);

impl Masks {
    /// Reads every `column.mask.with.N.chars`, `column.mask.hash.ALG.with.salt.SALT` and
    /// `column.truncate.to.N.chars` key.
    pub fn new<'a>(props: impl Iterator<Item = (&'a str, &'a str)>) -> Result<Masks, ConfigError> {
        let mut out = Vec::new();
        for (k, v) in props {
            let mask = if let Some(n) = k
                .strip_prefix("column.mask.with.")
                .and_then(|r| r.strip_suffix(".chars"))
            {
                let n: usize = n.parse().ok().filter(|n| *n <= 1024).ok_or_else(|| {
                    ConfigError::new(k, "expected column.mask.with.N.chars with N from 0 to 1024")
                })?;
                Mask::Stars("*".repeat(n))
            } else if let Some(n) = k
                .strip_prefix("column.truncate.to.")
                .and_then(|r| r.strip_suffix(".chars"))
            {
                let n: usize = n.parse().map_err(|_| {
                    ConfigError::new(k, "expected column.truncate.to.N.chars with a number N")
                })?;
                Mask::Truncate(n)
            } else if let Some(rest) = k.strip_prefix("column.mask.hash.") {
                let rest = rest.strip_prefix("v2.").unwrap_or(rest);
                let (alg, salt) = rest.split_once(".with.salt.").ok_or_else(|| {
                    ConfigError::new(k, "expected column.mask.hash.ALGORITHM.with.salt.SALT")
                })?;
                let algorithm = match alg.to_ascii_uppercase().as_str() {
                    "SHA-256" | "SHA256" => HashAlgorithm::Sha256,
                    "SHA-384" | "SHA384" => HashAlgorithm::Sha384,
                    "SHA-512" | "SHA512" => HashAlgorithm::Sha512,
                    _ => {
                        return Err(ConfigError::new(
                            k,
                            "supported hash algorithms are SHA-256, SHA-384 and SHA-512",
                        ))
                    }
                };
                Mask::Hash {
                    algorithm,
                    salt: salt.to_owned(),
                }
            } else {
                continue;
            };
            let pats = split_list(v)
                .iter()
                .map(|p| full_match(p, k))
                .collect::<Result<Vec<_>, _>>()?;
            out.push((pats, mask));
        }
        Ok(Masks(out))
    }

    /// The mask of a column, if one applies.
    pub fn for_column(&self, id: &TableId, column: &str) -> Option<&Mask> {
        let name = format!("{}.{}", id.dotted(), column);
        self.0.iter().find(|(ps, _)| any(ps, &name)).map(|(_, m)| m)
    }
}

/// `message.key.columns`: `db.table:col1,col2;db2.other:col` (table part a regular expression).
#[derive(Debug, Clone, Default)]
pub struct KeyColumns(Vec<(Regex, Vec<String>)>);

impl KeyColumns {
    /// Parses the setting.
    pub fn new(spec: Option<&str>) -> Result<KeyColumns, ConfigError> {
        let mut out = Vec::new();
        for part in spec
            .unwrap_or("")
            .split(';')
            .filter(|p| !p.trim().is_empty())
        {
            let (table, cols) = part.split_once(':').ok_or_else(|| {
                ConfigError::new(
                    "message.key.columns",
                    "expected <db>.<table>:<column>,<column>;... (a ':' is missing)",
                )
            })?;
            let cols = split_list(cols);
            if cols.is_empty() {
                return Err(ConfigError::new(
                    "message.key.columns",
                    "each table needs at least one key column",
                ));
            }
            out.push((full_match(table, "message.key.columns")?, cols));
        }
        Ok(KeyColumns(out))
    }

    /// The configured key columns of a table, if any.
    pub fn for_table(&self, id: &TableId) -> Option<&[String]> {
        let name = id.dotted();
        self.0
            .iter()
            .find(|(p, _)| p.is_match(&name))
            .map(|(_, c)| c.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(pairs: &[(&str, &str)]) -> Result<Filters, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        Filters::new(
            |k| pairs.iter().find(|(a, _)| a == k).map(|(_, b)| b.clone()),
            &["mysql"],
        )
    }

    #[test]
    fn seed_lists_select_the_three_tables() {
        let f = filters(&[
            ("database.include.list", "patients,encounters,observations"),
            (
                "table.include.list",
                "patients.patient,encounters.encounter,observations.observation",
            ),
        ])
        .unwrap();
        assert!(f.table(&TableId::new("patients", "patient")));
        assert!(!f.table(&TableId::new("patients", "patient_audit")));
        assert!(!f.table(&TableId::new("billing", "patient")));
        assert!(!f.database("mysql"));
    }

    #[test]
    fn include_and_exclude_together_are_refused() {
        assert!(filters(&[("table.include.list", "a.b"), ("table.exclude.list", "a.c")]).is_err());
        assert!(filters(&[("table.include.list", "a.(")]).is_err());
    }

    #[test]
    fn masks_replace_or_hash() {
        let props = [
            ("column.mask.with.5.chars", "patients.patient.ssn"),
            (
                "column.mask.hash.SHA-256.with.salt.pepper",
                "patients.patient.mrn",
            ),
        ];
        let m = Masks::new(props.iter().map(|(a, b)| (*a, *b))).unwrap();
        let id = TableId::new("patients", "patient");
        assert_eq!(
            m.for_column(&id, "ssn").unwrap().apply("123-45-6789", None),
            "*****"
        );
        let h = m.for_column(&id, "mrn").unwrap().apply("MRN1", Some(16));
        assert_eq!(h.len(), 16);
        assert!(!h.contains("MRN1"));
        assert!(m.for_column(&id, "name").is_none());
    }

    #[test]
    fn key_columns_parse() {
        let k = KeyColumns::new(Some("patients.patient:mrn;(.*).visit:a,b")).unwrap();
        assert_eq!(
            k.for_table(&TableId::new("patients", "patient")).unwrap(),
            ["mrn"]
        );
        assert_eq!(k.for_table(&TableId::new("x", "visit")).unwrap().len(), 2);
        assert!(KeyColumns::new(Some("nocolon")).is_err());
    }
}
