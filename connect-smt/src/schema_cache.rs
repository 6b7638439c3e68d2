//! What the schema-changing SMTs share: deriving a struct schema with added fields, and remembering the
//! last derived schema, since one input schema usually serves a long run of records.

use std::sync::Mutex;

use connect_core::data::{Schema, SchemaBuilder};

/// Remembers the output schema derived for the last input schema.
#[derive(Debug, Default)]
pub(crate) struct SchemaCache(Mutex<Option<(Schema, Schema)>>);

impl SchemaCache {
    /// The schema derived from `input`, made with `derive` when `input` is not the last one seen.
    pub(crate) fn get_or_derive<E>(
        &self,
        input: &Schema,
        derive: impl FnOnce() -> Result<Schema, E>,
    ) -> Result<Schema, E> {
        if let Ok(c) = self.0.lock() {
            if let Some((from, to)) = &*c {
                if from.ptr_eq(input) || from == input {
                    return Ok(to.clone());
                }
            }
        }
        let out = derive()?;
        if let Ok(mut c) = self.0.lock() {
            *c = Some((input.clone(), out.clone()));
        }
        Ok(out)
    }
}

/// A struct schema builder with the name, version, doc and optionality of `base`, and no fields yet:
/// where an SMT that reshapes a struct starts.
pub(crate) fn struct_like(base: &Schema) -> SchemaBuilder {
    let mut b = SchemaBuilder::struct_();
    if let Some(n) = base.name() {
        b = b.name(n);
    }
    if let Some(v) = base.version() {
        b = b.version(v);
    }
    if let Some(d) = base.doc() {
        b = b.doc(d);
    }
    if base.is_optional() {
        b = b.optional();
    }
    b
}

/// A copy of struct schema `base` (name, version, doc, optionality, fields) with `extra` fields appended.
pub(crate) fn with_extra_fields<'a>(
    base: &Schema,
    extra: impl IntoIterator<Item = (&'a str, Schema)>,
) -> Schema {
    let mut b = struct_like(base);
    for f in base.fields() {
        b = b.field(f.name(), f.schema().clone());
    }
    for (n, s) in extra {
        b = b.field(n, s);
    }
    b.build()
}
