//! Where [`Deidentify`](super::Deidentify) applies an operation: one configured path read three
//! ways, chosen by the shape of the record's key or value.
//!
//! * A **record path** (`patient.ssn`, `` `odd.name` ``): dotted field names through structs and
//!   maps; arrays on the way are entered element by element.
//! * An **HL7 path** (`PID.19`, `PID-3.1`, `NK1(2).2`), on the structured HL7 map or on ER7 text or
//!   bytes. Without an explicit occurrence it applies to every occurrence of the segment; without an
//!   explicit repetition, to every repetition of the field.
//! * A **FHIR path** (`Patient.name`, `Patient.address.postalCode`): a resource type, then element
//!   names. Applies to that resource and to every such resource in a Bundle's entries; arrays are
//!   entered element by element.

use connect_core::data::{Schema, Value};
use connect_core::hl7::{structured, Path as Hl7Path};
use connect_core::value_to_text;

use super::ops::{removed, Context, Op};

/// An HL7 reading of a path.
#[derive(Debug, Clone)]
struct Hl7Target {
    path: Hl7Path,
    every_segment: bool,
    every_repetition: bool,
}

/// One configured path.
#[derive(Debug, Clone)]
pub(crate) struct FieldPath {
    /// As configured, for messages.
    pub(crate) text: String,
    record: Vec<String>,
    hl7: Option<Hl7Target>,
    fhir: Option<(String, Vec<String>)>,
}

/// What a key or value is, as far as paths are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// The structured HL7 map.
    Hl7,
    /// A FHIR resource or Bundle (a map with `resourceType`).
    Fhir,
    /// Any other struct or map.
    Record,
}

/// The shape of a value.
pub(crate) fn shape(v: &Value) -> Shape {
    if structured::is_structured(v) {
        Shape::Hl7
    } else if matches!(v, Value::Map(m) if m.get("resourceType").is_some_and(|t| t.as_str().is_some()))
    {
        Shape::Fhir
    } else {
        Shape::Record
    }
}

fn split_dotted(s: &str) -> Result<Vec<String>, String> {
    crate::extract_field::parse_path(s)
}

impl FieldPath {
    /// Parses a configured path; the error says why it is not usable in any of the three readings.
    pub(crate) fn parse(text: &str) -> Result<FieldPath, String> {
        let text = text.trim();
        let record = split_dotted(text)?;
        let hl7 = Hl7Path::parse(text).ok().map(|path| {
            let (seg_part, rest) = text.split_at(text.find(['-', '.']).unwrap_or(text.len()));
            let field_part = rest.get(1..).unwrap_or("").split('.').next().unwrap_or("");
            Hl7Target {
                path,
                every_segment: !seg_part.contains('('),
                every_repetition: !field_part.contains('('),
            }
        });
        let fhir = match record.as_slice() {
            [resource, elements @ ..]
                if !elements.is_empty()
                    && resource.starts_with(|c: char| c.is_ascii_uppercase())
                    && resource.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                Some((resource.clone(), elements.to_vec()))
            }
            _ => None,
        };
        Ok(FieldPath {
            text: text.to_owned(),
            record,
            hl7,
            fhir,
        })
    }

    /// Applies `op` where this path reaches into `v` (of the given shape). Paths that do not fit the
    /// shape, or reach nothing, change nothing.
    pub(crate) fn apply(
        &self,
        v: &mut Value,
        schema: Option<&Schema>,
        shape: Shape,
        op: Op,
        cx: &Context<'_>,
    ) -> Result<(), String> {
        match shape {
            Shape::Hl7 => match (&self.hl7, v) {
                (Some(t), Value::Map(m)) => apply_hl7(m, t, op, cx),
                _ => Ok(()),
            },
            Shape::Fhir => match &self.fhir {
                Some((resource, elements)) => apply_fhir(v, resource, elements, op, cx),
                None => Ok(()),
            },
            Shape::Record => apply_record(v, schema, &self.record, op, cx),
        }
    }

    /// The first text this path reaches in `v`, for the date-shift subject.
    pub(crate) fn read(&self, v: &Value, shape: Shape) -> Option<String> {
        match shape {
            Shape::Hl7 => {
                let t = self.hl7.as_ref()?;
                structured::get(v.as_map()?, &t.path)
            }
            Shape::Fhir => {
                let (resource, elements) = self.fhir.as_ref()?;
                read_fhir(v, resource, elements)
            }
            Shape::Record => read_record(v, &self.record),
        }
    }
}

fn apply_record(
    v: &mut Value,
    schema: Option<&Schema>,
    path: &[String],
    op: Op,
    cx: &Context<'_>,
) -> Result<(), String> {
    let Some((name, rest)) = path.split_first() else {
        return op.apply(v, schema, cx);
    };
    match v {
        Value::Array(items) => {
            let vs = schema.and_then(Schema::value_schema);
            for item in items {
                apply_record(item, vs, path, op, cx)?;
            }
            Ok(())
        }
        Value::Struct(st) => {
            let Some(field) = st.schema().field(name) else {
                return Ok(());
            };
            let (idx, fs) = (field.index(), field.schema().clone());
            let slot = &mut st.values_mut()[idx];
            if rest.is_empty() && op == Op::Remove {
                *slot = removed(slot, Some(&fs));
                Ok(())
            } else {
                apply_record(slot, Some(&fs), rest, op, cx)
            }
        }
        Value::Map(m) => {
            if rest.is_empty() && op == Op::Remove {
                m.remove(name);
                return Ok(());
            }
            let vs = schema.and_then(Schema::value_schema);
            match m.get_mut(name) {
                Some(child) => apply_record(child, vs, rest, op, cx),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

fn read_record(v: &Value, path: &[String]) -> Option<String> {
    let Some((name, rest)) = path.split_first() else {
        return match v {
            Value::Null => None,
            Value::Array(items) => items.iter().find_map(|i| read_record(i, path)),
            other => Some(value_to_text(other)),
        };
    };
    match v {
        Value::Struct(st) => read_record(st.get(name)?, rest),
        Value::Map(m) => read_record(m.get(name)?, rest),
        Value::Array(items) => items.iter().find_map(|i| read_record(i, path)),
        _ => None,
    }
}

fn is_resource(v: &Value, ty: &str) -> bool {
    matches!(v, Value::Map(m) if m.get("resourceType").and_then(Value::as_str) == Some(ty))
}

fn apply_fhir(
    v: &mut Value,
    resource: &str,
    elements: &[String],
    op: Op,
    cx: &Context<'_>,
) -> Result<(), String> {
    if is_resource(v, resource) {
        return apply_record(v, None, elements, op, cx);
    }
    if is_resource(v, "Bundle") {
        if let Some(Value::Array(entries)) = v.as_map_mut().and_then(|m| m.get_mut("entry")) {
            for e in entries {
                if let Some(r) = e.as_map_mut().and_then(|m| m.get_mut("resource")) {
                    apply_fhir(r, resource, elements, op, cx)?;
                }
            }
        }
    }
    Ok(())
}

fn read_fhir(v: &Value, resource: &str, elements: &[String]) -> Option<String> {
    if is_resource(v, resource) {
        return read_record(v, elements);
    }
    if is_resource(v, "Bundle") {
        if let Some(Value::Array(entries)) = v.as_map().and_then(|m| m.get("entry")) {
            return entries.iter().find_map(|e| {
                let r = e.as_map()?.get("resource")?;
                read_fhir(r, resource, elements)
            });
        }
    }
    None
}

fn apply_hl7(
    map: &mut connect_core::data::Map,
    t: &Hl7Target,
    op: Op,
    cx: &Context<'_>,
) -> Result<(), String> {
    let occurrences = if t.every_segment {
        structured::occurrences(map, &t.path.segment)
    } else {
        vec![t.path.segment_rep]
    };
    let whole_field = t.path.component.is_none();
    for occ in occurrences {
        let mut p = t.path.clone();
        p.segment_rep = occ;
        if op == Op::Remove && whole_field && t.every_repetition {
            if structured::repetitions(map, &p) > 0 {
                structured::set_field(map, &p, "").map_err(|e| e.to_string())?;
            }
            continue;
        }
        let reps: Vec<usize> = if t.every_repetition {
            (1..=structured::repetitions(map, &p)).collect()
        } else {
            vec![t.path.field_rep]
        };
        for r in reps {
            p.field_rep = r;
            let Some(text) = structured::get(map, &p) else {
                continue;
            };
            let new = if op == Op::Remove {
                String::new()
            } else {
                let mut v = Value::String(text);
                op.apply(&mut v, None, cx)?;
                match v {
                    Value::String(s) => s,
                    other => value_to_text(&other),
                }
            };
            structured::set(map, &p, &new).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
