//! Single message transforms (SMTs) for connect-rs, with Kafka Connect's config keys, defaults and
//! `$Key`/`$Value` variants, for schema'd structs and schemaless maps alike.
//!
//! ```
//! let mut registry = connect_core::registry::Registry::with_builtins();
//! connect_smt::register(&mut registry);
//! assert!(registry.transform_names().contains(&"MaskField$Value".to_string()));
//! ```
#![warn(missing_docs)]

pub mod cast;
#[cfg(feature = "deidentify")]
pub mod deidentify;
pub mod extract_field;
pub mod extract_new_record_state;
pub mod filter;
pub mod flatten;
pub mod header_from;
pub mod headers;
#[cfg(feature = "hl7-to-fhir")]
pub mod hl7_to_fhir;
pub mod hoist_field;
pub mod insert_field;
pub mod java_date;
pub mod mask_field;
pub mod predicates;
pub mod regex_router;
pub mod replace_field;
mod schema_cache;
pub mod set_schema_metadata;
mod target;
pub mod timestamp_converter;
pub mod timestamp_router;
pub mod value_to_key;

pub use target::Target;

use connect_core::registry::Registry;

const KC: &str = "org.apache.kafka.connect.transforms.";

/// Registers every SMT and predicate of this crate under its short name and its Java class name.
pub fn register(registry: &mut Registry) {
    for (short, target) in [("Key", Target::Key), ("Value", Target::Value)] {
        let names = |base: &str| [format!("{base}${short}"), format!("{KC}{base}${short}")];
        let n = names("ExtractField");
        registry.register_transform(&[&n[0], &n[1]], move || {
            extract_field::ExtractField::new(target)
        });
        let n = names("MaskField");
        registry.register_transform(&[&n[0], &n[1]], move || mask_field::MaskField::new(target));
        let n = names("InsertField");
        registry.register_transform(&[&n[0], &n[1]], move || {
            insert_field::InsertField::new(target)
        });
        let n = names("HoistField");
        registry.register_transform(&[&n[0], &n[1]], move || {
            hoist_field::HoistField::new(target)
        });
        let n = names("Cast");
        registry.register_transform(&[&n[0], &n[1]], move || cast::Cast::new(target));
        let n = names("TimestampConverter");
        registry.register_transform(&[&n[0], &n[1]], move || {
            timestamp_converter::TimestampConverter::new(target)
        });
        let n = names("HeaderFrom");
        registry.register_transform(&[&n[0], &n[1]], move || {
            header_from::HeaderFrom::new(target)
        });
        let n = names("Flatten");
        registry.register_transform(&[&n[0], &n[1]], move || flatten::Flatten::new(target));
        let n = names("SetSchemaMetadata");
        registry.register_transform(&[&n[0], &n[1]], move || {
            set_schema_metadata::SetSchemaMetadata::new(target)
        });
        let n = names("ReplaceField");
        registry.register_transform(&[&n[0], &n[1]], move || {
            replace_field::ReplaceField::new(target)
        });
    }
    registry.register_transform(
        &["ValueToKey", &format!("{KC}ValueToKey")],
        value_to_key::ValueToKey::default,
    );
    registry.register_transform(&["Filter", &format!("{KC}Filter")], filter::Filter::default);
    registry.register_transform(
        &["RegexRouter", &format!("{KC}RegexRouter")],
        regex_router::RegexRouter::default,
    );
    registry.register_transform(
        &["TimestampRouter", &format!("{KC}TimestampRouter")],
        timestamp_router::TimestampRouter::default,
    );
    registry.register_transform(
        &["InsertHeader", &format!("{KC}InsertHeader")],
        headers::InsertHeader::default,
    );
    registry.register_transform(
        &["DropHeaders", &format!("{KC}DropHeaders")],
        headers::DropHeaders::default,
    );
    registry.register_transform(
        &[
            "ExtractNewRecordState",
            "io.debezium.transforms.ExtractNewRecordState",
        ],
        extract_new_record_state::ExtractNewRecordState::default,
    );
    #[cfg(feature = "deidentify")]
    register_deidentify(registry);
    #[cfg(feature = "hl7-to-fhir")]
    register_hl7_to_fhir(registry);
    let p = "org.apache.kafka.connect.transforms.predicates.";
    registry.register_predicate(
        &["TopicNameMatches", &format!("{p}TopicNameMatches")],
        predicates::TopicNameMatches::default,
    );
    registry.register_predicate(
        &["HasHeaderKey", &format!("{p}HasHeaderKey")],
        predicates::HasHeaderKey::default,
    );
    registry.register_predicate(
        &["RecordIsTombstone", &format!("{p}RecordIsTombstone")],
        predicates::RecordIsTombstone::default,
    );
    registry.register_predicate(
        &[
            "ValueFieldMatches",
            "org.healthcare.kafka.connect.predicates.ValueFieldMatches",
        ],
        predicates::ValueFieldMatches::default,
    );
}

#[cfg(feature = "deidentify")]
fn register_deidentify(registry: &mut Registry) {
    for (short, target) in [("Key", Target::Key), ("Value", Target::Value)] {
        let n = [
            format!("Deidentify${short}"),
            format!("io.connectrs.transforms.Deidentify${short}"),
        ];
        registry.register_transform(&[&n[0], &n[1]], move || deidentify::Deidentify::new(target));
    }
    registry.register_transform(&["Deidentify"], || {
        deidentify::Deidentify::new(Target::Value)
    });
}

#[cfg(feature = "hl7-to-fhir")]
fn register_hl7_to_fhir(registry: &mut Registry) {
    for (short, target) in [("Key", Target::Key), ("Value", Target::Value)] {
        let n = [
            format!("HL7ToFHIR${short}"),
            format!("io.connectrs.transforms.HL7ToFHIR${short}"),
        ];
        registry.register_transform(&[&n[0], &n[1]], move || hl7_to_fhir::Hl7ToFhir::new(target));
    }
    // The seed's custom SMT, by its Java class name.
    registry.register_transform(
        &[
            "HL7ToFHIR",
            "org.healthcare.kafka.connect.transforms.HL7ToFHIR",
        ],
        || hl7_to_fhir::Hl7ToFhir::new(Target::Value),
    );
}
