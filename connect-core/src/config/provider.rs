//! Config providers: `${file:PATH:KEY}`, `${env:NAME}` and `${dir:PATH:FILE}` references in config
//! values are replaced by secrets kept outside the config, as Kafka's `FileConfigProvider`,
//! `EnvVarConfigProvider` and `DirectoryConfigProvider` do.
//!
//! A reference to a provider that is not registered stays as written (Kafka does the same), so text such
//! as the seed's `Patient?_lastUpdated=gt${timestamp}` passes through untouched. A reference to a
//! registered provider that cannot be resolved (missing file, missing key) is a [`ConfigError`] naming
//! the config key and the path, never the secret.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::config::Props;
use crate::error::ConfigError;

/// Resolves one reference `${name:path:key}` (path may be empty).
pub trait ConfigProvider: Send + Sync {
    /// The value for `key` at `path`, or a reason it cannot be had (without the secret in it).
    fn get(&self, path: &str, key: &str) -> Result<String, String>;
}

/// `${file:/etc/kafka-connect/mysql-cdc-credentials:password}`: a key of a Java properties file.
#[derive(Debug, Default, Clone)]
pub struct FileConfigProvider;

impl ConfigProvider for FileConfigProvider {
    fn get(&self, path: &str, key: &str) -> Result<String, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read '{path}': {e}"))?;
        let props = Props::parse_properties(&text);
        props
            .get(key)
            .map(str::to_owned)
            .ok_or_else(|| format!("'{path}' has no key '{key}'"))
    }
}

/// `${env:NAME}`: an environment variable.
#[derive(Debug, Default, Clone)]
pub struct EnvVarConfigProvider;

impl ConfigProvider for EnvVarConfigProvider {
    fn get(&self, _path: &str, key: &str) -> Result<String, String> {
        std::env::var(key).map_err(|_| format!("environment variable '{key}' is not set"))
    }
}

/// `${dir:/run/secrets:db_password}`: the whole content of a file in a directory (as mounted Kubernetes
/// secrets are). The file name may not leave the directory.
#[derive(Debug, Default, Clone)]
pub struct DirectoryConfigProvider;

impl ConfigProvider for DirectoryConfigProvider {
    fn get(&self, path: &str, key: &str) -> Result<String, String> {
        if key.contains('/') || key.contains('\\') || key == ".." || key == "." {
            return Err(format!("file name '{key}' must not contain a path"));
        }
        let file = Path::new(path).join(key);
        std::fs::read_to_string(&file).map_err(|e| format!("cannot read '{}': {e}", file.display()))
    }
}

/// The registered providers, by the name used in references.
#[derive(Clone)]
pub struct ConfigProviders {
    providers: HashMap<String, Arc<dyn ConfigProvider>>,
}

impl Default for ConfigProviders {
    /// `file`, `env` and `dir`.
    fn default() -> Self {
        let mut p = ConfigProviders::empty();
        p.register("file", FileConfigProvider);
        p.register("env", EnvVarConfigProvider);
        p.register("dir", DirectoryConfigProvider);
        p
    }
}

impl std::fmt::Debug for ConfigProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.providers.keys().collect();
        names.sort();
        f.debug_struct("ConfigProviders")
            .field("names", &names)
            .finish()
    }
}

impl ConfigProviders {
    /// No providers: every reference stays as written.
    pub fn empty() -> Self {
        ConfigProviders {
            providers: HashMap::new(),
        }
    }

    /// Registers (or replaces) a provider under `name`.
    pub fn register(&mut self, name: &str, provider: impl ConfigProvider + 'static) -> &mut Self {
        self.providers.insert(name.to_owned(), Arc::new(provider));
        self
    }

    /// Resolves every reference in one value. `key` names the config key in errors.
    pub fn resolve_value(&self, key: &str, value: &str) -> Result<String, ConfigError> {
        if !value.contains("${") {
            return Ok(value.to_owned());
        }
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            let inner = &after[..end];
            match self.lookup(inner) {
                Some(Ok(v)) => out.push_str(&v),
                Some(Err(reason)) => {
                    return Err(ConfigError::new(
                        key,
                        format!("cannot resolve config provider reference: {reason}"),
                    ))
                }
                None => {
                    out.push_str("${");
                    out.push_str(inner);
                    out.push('}');
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn lookup(&self, inner: &str) -> Option<Result<String, String>> {
        let (name, path_key) = inner.split_once(':')?;
        let provider = self.providers.get(name)?;
        let (path, key) = match path_key.rsplit_once(':') {
            Some((p, k)) => (p, k),
            None => ("", path_key),
        };
        Some(provider.get(path, key))
    }

    /// Resolves every value of `props`, reporting every unresolvable key at once.
    pub fn resolve(&self, props: &Props) -> Result<Props, ConfigError> {
        let mut out = props.clone();
        let mut err: Option<ConfigError> = None;
        for (k, v) in out.values_mut() {
            match self.resolve_value(k, v) {
                Ok(r) => *v = r,
                Err(e) => match &mut err {
                    Some(all) => all.extend(e),
                    None => err = Some(e),
                },
            }
        }
        match err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_file_env_and_dir() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("mysql-cdc-credentials");
        std::fs::write(&creds, "password=s3cr3t\nuser=cdc\n").unwrap();
        std::fs::write(dir.path().join("token"), "abc").unwrap();
        std::env::set_var("CONNECT_RS_TEST_ENV", "from-env");
        let p = ConfigProviders::default();
        let props = Props::new()
            .with(
                "database.password",
                format!("${{file:{}:password}}", creds.display()),
            )
            .with("x", "${env:CONNECT_RS_TEST_ENV}/suffix")
            .with("t", format!("${{dir:{}:token}}", dir.path().display()))
            .with(
                "fhir.subscription.criteria",
                "Patient?_lastUpdated=gt${timestamp}",
            )
            .with("other", "${vault:secret/x:y}");
        let r = p.resolve(&props).unwrap();
        assert_eq!(r.get("database.password"), Some("s3cr3t"));
        assert_eq!(r.get("x"), Some("from-env/suffix"));
        assert_eq!(r.get("t"), Some("abc"));
        assert_eq!(
            r.get("fhir.subscription.criteria"),
            Some("Patient?_lastUpdated=gt${timestamp}")
        );
        assert_eq!(r.get("other"), Some("${vault:secret/x:y}"));
    }

    #[test]
    fn unresolvable_names_key_and_path_not_secret() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("c");
        std::fs::write(&creds, "password=s3cr3t\n").unwrap();
        let p = ConfigProviders::default();
        let props = Props::new()
            .with("a.password", format!("${{file:{}:nope}}", creds.display()))
            .with("b", "${file:/does/not/exist:k}")
            .with("c", "${dir:/tmp:../etc/passwd}");
        let e = p.resolve(&props).unwrap_err();
        assert_eq!(e.problems.len(), 3);
        assert_eq!(e.problems[0].key, "a.password");
        assert!(e.problems[0].reason.contains("no key 'nope'"));
        assert!(!e.to_string().contains("s3cr3t"));
    }
}
