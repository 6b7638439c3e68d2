//! `ReplaceField$Key` / `ReplaceField$Value`: keeps (`include`), drops (`exclude`) and renames
//! (`renames`, `old:new` pairs) fields. The legacy `whitelist` and `blacklist` keys are read as
//! `include` and `exclude`.

use connect_core::config::{ConfigDef, ConfigType, Importance, Props};
use connect_core::data::{Schema, Struct, Value};
use connect_core::error::{ConfigError, ConnectError};
use connect_core::record::Record;
use connect_core::transform::Transformation;

use crate::schema_cache::{struct_like, SchemaCache};
use crate::target::{
    need_map, need_struct, with_replace_null_with_default, NullReplacement, Target,
};

const PURPOSE: &str = "field replacement";

/// See the [module docs](self).
#[derive(Debug)]
pub struct ReplaceField {
    target: Target,
    include: Vec<String>,
    exclude: Vec<String>,
    /// `old:new` pairs; a short list scanned in order beats hashing every field name of every record.
    renames: Vec<(String, String)>,
    cache: SchemaCache,
    nulls: NullReplacement,
}

impl ReplaceField {
    /// An unconfigured transform for the key or the value.
    pub fn new(target: Target) -> Self {
        ReplaceField {
            target,
            include: vec![],
            exclude: vec![],
            renames: Vec::new(),
            cache: SchemaCache::default(),
            nulls: NullReplacement::default(),
        }
    }

    fn keeps(&self, name: &str) -> bool {
        !self.exclude.iter().any(|e| e == name)
            && (self.include.is_empty() || self.include.iter().any(|i| i == name))
    }

    fn rename_of(&self, name: &str) -> Option<&str> {
        self.renames
            .iter()
            .find(|(old, _)| old == name)
            .map(|(_, new)| new.as_str())
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.rename_of(name).unwrap_or(name)
    }
}

impl<R: Record> Transformation<R> for ReplaceField {
    fn config_def(&self) -> ConfigDef {
        with_replace_null_with_default(
            ConfigDef::new()
                .define(
                    "exclude",
                    ConfigType::List,
                    Some(""),
                    Importance::Medium,
                    "Fields to drop.",
                )
                .define(
                    "include",
                    ConfigType::List,
                    Some(""),
                    Importance::Medium,
                    "Fields to keep (all when empty).",
                )
                .define(
                    "renames",
                    ConfigType::List,
                    Some(""),
                    Importance::Medium,
                    "old:new field renames.",
                )
                .define(
                    "blacklist",
                    ConfigType::List,
                    Some(""),
                    Importance::Low,
                    "Deprecated: exclude.",
                )
                .define(
                    "whitelist",
                    ConfigType::List,
                    Some(""),
                    Importance::Low,
                    "Deprecated: include.",
                ),
        )
    }

    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        self.nulls = NullReplacement::from_config(&c);
        self.exclude = [c.list("exclude"), c.list("blacklist")].concat();
        self.include = [c.list("include"), c.list("whitelist")].concat();
        self.renames.clear();
        for pair in c.list("renames") {
            let (old, new) = pair
                .split_once(':')
                .filter(|(o, n)| !o.is_empty() && !n.is_empty())
                .ok_or_else(|| {
                    ConfigError::new("renames", format!("'{pair}' is not of the form old:new"))
                })?;
            self.renames.retain(|(o, _)| o != old);
            self.renames.push((old.to_owned(), new.to_owned()));
        }
        Ok(())
    }

    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        let base = record.base_mut();
        let (schema, value) = self.target.take(base);
        match (schema, value) {
            (schema, Value::Null) => self.target.set(base, schema, Value::Null),
            (None, Value::Map(m)) => {
                // In place: excluded entries dropped, renamed keys replaced.
                let mut m = m;
                m.retain_mut(|k, _| match k {
                    Value::String(name) if self.keeps(name) => {
                        if let Some(to) = self.rename_of(name) {
                            *name = to.to_owned();
                        }
                        true
                    }
                    _ => false,
                });
                self.target.set(base, None, Value::Map(m));
            }
            (Some(s), Value::Struct(st)) => {
                let updated: Schema = self
                    .cache
                    .get_or_derive(&s, || {
                        let mut b = struct_like(&s);
                        for f in s.fields().iter().filter(|f| self.keeps(f.name())) {
                            b = b.field(self.renamed(f.name()), f.schema().clone());
                        }
                        Ok::<_, std::convert::Infallible>(b.build())
                    })
                    .unwrap_or_else(|e| match e {});
                let mut all = st.into_values();
                self.nulls.fill(&s, &mut all);
                // Drop the excluded values in place: no second vector.
                let mut fields = s.fields().iter();
                all.retain(|_| fields.next().is_some_and(|f| self.keeps(f.name())));
                let out = Struct::from_values(updated.clone(), all)?;
                self.target.set(base, Some(updated), Value::Struct(out));
            }
            (None, other) => return Err(need_map(PURPOSE, &other)),
            (Some(_), other) => return Err(need_struct(PURPOSE, &other)),
        }
        Ok(Some(record))
    }
}
