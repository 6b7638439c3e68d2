//! `ExtractField$Key` / `ExtractField$Value`: replaces the key or value with one of its fields.
//!
//! `field` names the field; with `field.syntax.version=V2`, a dotted path reaches into nested structs
//! and maps (`patient.mrn`; a name that itself holds dots is quoted with backticks, `` `PID.3.1` ``).
//! With V1 (the default) the whole string is one field name, as Kafka Connect does.
//!
//! On the [structured form of an HL7 message](connect_core::hl7::structured) (the value of an MLLP
//! source or the `Hl7Converter` with `hl7.message.structure=true`), a `field` that is an HL7 path
//! (`PID.3.1`, `PID-3(2).1`, `OBX(2)-5`) extracts that part's text, as the seed's
//! `transforms.extractPatient.field=PID.3.1` intends. A map key that literally equals the path wins,
//! so ordinary maps behave as in Kafka Connect.

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::data::{Schema, SchemaType, Value};
use connect_core::error::{ConfigError, ConnectError, DataError};
use connect_core::record::Record;
use connect_core::transform::Transformation;

use connect_core::hl7::{structured, Path as Hl7Path};

use crate::target::{
    need_map, need_struct, with_replace_null_with_default, NullReplacement, Target,
};

const PURPOSE: &str = "field extraction";

/// See the [module docs](self).
#[derive(Debug, Clone)]
pub struct ExtractField {
    target: Target,
    path: Vec<String>,
    hl7: Option<Hl7Path>,
    nulls: NullReplacement,
}

impl ExtractField {
    /// An unconfigured transform for the key or the value.
    pub fn new(target: Target) -> Self {
        ExtractField {
            target,
            path: Vec::new(),
            hl7: None,
            nulls: NullReplacement::default(),
        }
    }
}

/// Splits a V2 field path: dots separate, backticks quote a segment.
pub(crate) fn parse_path(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '`' => quoted = !quoted,
            '.' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(format!("unbalanced backtick in field path '{s}'"));
    }
    out.push(cur);
    if out.iter().any(String::is_empty) {
        return Err(format!("empty segment in field path '{s}'"));
    }
    Ok(out)
}

/// Follows `path` through structs and maps; `Ok(None)` when a step is absent or null.
pub(crate) fn lookup<'a>(
    schema: Option<&'a Schema>,
    value: &'a Value,
    path: &[String],
    nulls: NullReplacement,
) -> Result<(Option<&'a Schema>, Option<&'a Value>), ConnectError> {
    let mut s = schema;
    let mut v = Some(value);
    for (i, seg) in path.iter().enumerate() {
        match s {
            Some(sc) => {
                if sc.schema_type() != SchemaType::Struct {
                    return Err(DataError::new(format!(
                        "field '{}' is not a struct",
                        path[..i].join(".")
                    ))
                    .into());
                }
                let f = sc.field(seg).ok_or_else(|| {
                    ConnectError::Data(DataError::new(format!(
                        "Unknown field: {}",
                        path[..=i].join(".")
                    )))
                })?;
                s = Some(f.schema());
                v = match v {
                    Some(Value::Struct(st)) => nulls.field(st, seg),
                    Some(Value::Null) | None => None,
                    Some(other) => return Err(need_struct(PURPOSE, other)),
                };
            }
            None => {
                v = match v {
                    Some(Value::Map(m)) => m.get(seg),
                    Some(Value::Null) | None => None,
                    Some(other) => return Err(need_map(PURPOSE, other)),
                };
            }
        }
    }
    Ok((s, v.filter(|v| !v.is_null())))
}

impl<R: Record> Transformation<R> for ExtractField {
    fn config_def(&self) -> ConfigDef {
        with_replace_null_with_default(
            ConfigDef::new()
                .define(
                    "field",
                    ConfigType::String,
                    None,
                    Importance::Medium,
                    "Field name to extract.",
                )
                .with_validator("field", Validator::non_empty())
                .define(
                    "field.syntax.version",
                    ConfigType::String,
                    Some("V1"),
                    Importance::Medium,
                    "V1: plain field names; V2: dotted paths.",
                )
                .with_validator("field.syntax.version", Validator::one_of(&["V1", "V2"])),
        )
    }

    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        self.nulls = NullReplacement::from_config(&c);
        let field = c.string("field").unwrap_or_default();
        self.hl7 = Hl7Path::parse(field).ok();
        self.path = if c
            .string("field.syntax.version")
            .is_some_and(|v| v.eq_ignore_ascii_case("V2"))
        {
            parse_path(field).map_err(|e| ConfigError::new("field", e))?
        } else {
            vec![field.to_owned()]
        };
        Ok(())
    }

    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        let base = record.base_mut();
        if let (Some(p), (None, v @ Value::Map(m))) = (&self.hl7, self.target.get(base)) {
            if structured::is_structured(v) && m.get(&self.path.join(".")).is_none() {
                let text = structured::get(m, p).map_or(Value::Null, Value::String);
                self.target.set(base, None, text);
                return Ok(Some(record));
            }
        }
        let (schema, value) = self.target.take(base);
        // One field name (the usual case): move the field's value out instead of copying it.
        if let [name] = self.path.as_slice() {
            match (schema, value) {
                (Some(s), Value::Struct(st)) => {
                    let field = s.field(name).ok_or_else(|| {
                        ConnectError::Data(DataError::new(format!("Unknown field: {name}")))
                    })?;
                    let (index, field_schema) = (field.index(), field.schema().clone());
                    let mut values = st.into_values();
                    self.nulls.fill(&s, &mut values);
                    let v = values
                        .get_mut(index)
                        .map(std::mem::take)
                        .unwrap_or_default();
                    self.target.set(base, Some(field_schema), v);
                    return Ok(Some(record));
                }
                (None, Value::Map(mut m)) => {
                    let v = m.remove(name).unwrap_or_default();
                    self.target.set(base, None, v);
                    return Ok(Some(record));
                }
                (schema, value) => {
                    return self.apply_path(record, schema, value);
                }
            }
        }
        self.apply_path(record, schema, value)
    }
}

impl ExtractField {
    /// The general case: a V2 path through nested structs and maps.
    fn apply_path<R: Record>(
        &self,
        mut record: R,
        schema: Option<Schema>,
        value: Value,
    ) -> Result<Option<R>, ConnectError> {
        let base = record.base_mut();
        let (new_schema, new_value) = {
            let (s, v) = match (&schema, &value) {
                (None, Value::Map(_) | Value::Null) | (Some(_), Value::Struct(_) | Value::Null) => {
                    lookup(schema.as_ref(), &value, &self.path, self.nulls)?
                }
                (None, other) => return Err(need_map(PURPOSE, other)),
                (Some(_), other) => return Err(need_struct(PURPOSE, other)),
            };
            (s.cloned(), v.cloned().unwrap_or(Value::Null))
        };
        self.target.set(base, new_schema, new_value);
        Ok(Some(record))
    }
}
