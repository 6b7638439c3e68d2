//! `HL7ToFHIR$Value` / `HL7ToFHIR$Key`: HL7 v2 messages to FHIR R4, following the HL7 v2-to-FHIR
//! Implementation Guide's segment and datatype maps — the seed's custom `HL7ToFHIR` SMT, built out.
//!
//! Input: the record's value (or key) as ER7 text, ER7 bytes, or the
//! [structured HL7 map](connect_core::hl7::structured). Output: a FHIR `Bundle`, as a schemaless map
//! (what the JsonConverter with `schemas.enable=false` writes as the Bundle's JSON) or, with
//! `output.format=json`, as JSON text; or, with `resource.type`, one resource of that type alone.
//! The maps build the Bundle in a tree of their own (literal keys and fixed strings such as code
//! systems are borrowed, objects are short vectors), from which the JSON text is written straight
//! into one buffer (what serde_json would write, control characters written as Kafka Connect's
//! JsonConverter writes them); the map form is made only when it is the output (for a later SMT
//! that edits fields). Outside an SMT, [`Hl7ToFhir::convert_to_json`] writes a message's Bundle
//! into a buffer the caller reuses, and [`Hl7ToFhir::convert`] gives it as a `serde_json::Value`.
//!
//! | segment | resource | main elements |
//! |---|---|---|
//! | PID | Patient | identifier in the IG's order (PID-2, PID-3, PID-4 as CX with type from table 0203; PID-19 as `SS` in `us-ssn`; PID-20 as `DL`), name (XPN), gender (table 0001), birthDate with `patient-birthTime`, address (XAD), telecom (XTN), maritalStatus, deceased\[x\], multipleBirth\[x\], communication (PID-15), extensions (mother's maiden name, religion, birth place, citizenship, nationality; US Core race and ethnicity for CDC codes), meta.lastUpdated (PID-33), link to the mother |
//! | PID-21 (+ PID-6) | RelatedPerson | the mother: identifier, maiden name, relationship `MTH` (v3 RoleCode) |
//! | PD1-4 | Patient.generalPractitioner | Practitioner (XCN) |
//! | PID-18 | Account | identifier (CX), status `active`, subject: the Patient; Encounter.account refers to it |
//! | GT1 | Account.guarantor | the Patient when GT1-11 is `SEL`, else a RelatedPerson (name GT1-3, address GT1-5, phone GT1-6, relationship GT1-11); noted and left out without a PID-18 account |
//! | MSH | MessageHeader | eventCoding (MSH-9.2, table 0003), source (MSH-3; endpoint when a URL, else data-absent `unknown`), destination (MSH-5, receiver from MSH-6), sender (MSH-4), language (MSH-19), focus: the Patient |
//! | MSH-4, MSH-6 | Organization | the facility: name (HD.1), identifier (HD.2 as a URI) |
//! | CX.4 of every identifier | Organization | the assigning authority: name (HD.1), identifier (an ISO OID as a URI); `Identifier.assigner` refers to it (the same authority as a facility is one resource) |
//! | EVN | Provenance | the event: targets the Patient and Encounter, recorded at EVN-2, occurred at EVN-6, activity the trigger event (table 0003), reason (EVN-4, table 0062, not for `U`), agents the operators (EVN-5) or else the sending facility |
//! | MSH | Provenance | the conversion: every resource as target, recorded and occurred at MSH-7, activity `v2-fhir-transformation`, agents (the converter as assembler, MSH-4 as author), entities (the message by MSH-10 as source, the MessageHeader) |
//! | IAM (ADT^A60) | AllergyIntolerance | code (IAM-3 plus IAM-27's coding), category and criticality (tables 0127, 0128), identifier (IAM-7, which also fixes the id across updates), clinicalStatus (`inactive` for action D), verificationStatus (table 0438: C confirmed; U, P, S, D unconfirmed; E entered-in-error, without clinicalStatus), onset (IAM-11, else IAM-12 as text), recordedDate (IAM-13), recorder (IAM-14/15: the Patient for SEL, a RelatedPerson for another relation, else a Practitioner) |
//! | TXA, OBX (MDM) | DocumentReference | type (TXA-2), status (TXA-19), docStatus (TXA-17, table 0271), masterIdentifier (TXA-12, which fixes the id), identifier (TXA-16), date (TXA-6), author (TXA-9), authenticator (TXA-10), description (TXA-25), encounter; content: each OBX ED as an attachment of its MIME type (data as given in Base64, else encoded), TX/FT/ST lines as one `text/plain` attachment. An MDM's OBX are content, not Observations |
//! | SCH, TQ1, AIS, AIP, AIL (SIU) | Appointment | identifier (SCH-1 `PLAC`, SCH-2 `FILL`, which fix the id across S12-S26), status (SCH-25 or AIS-10, table 0278, else the trigger event: S15 cancelled, S17 entered-in-error, S26 noshow), serviceType (AIS-3), appointmentType (SCH-8), reasonCode (SCH-7), start and end (TQ1-7/8, else SCH-11), minutesDuration (SCH-9 when SCH-10 is minutes), participants: the Patient, SCH-12 and SCH-16 contacts, AIP-3 personnel (role AIP-4), AIL-3 locations |
//! | SPM | Specimen | identifier (SPM-2 placer `PLAC`, filler `FILL`), accessionIdentifier (SPM-30), status (SPM-20), type (SPM-4), collection (method SPM-7, bodySite SPM-8, collected time or period SPM-17), receivedTime (SPM-18), container (type SPM-27, additive SPM-6), condition (SPM-24), note (SPM-14); named by the group's ServiceRequest and (when they have none) its Observations |
//! | NTE | ServiceRequest.note, Observation.note | the comment (NTE-3, repetitions as lines), author (NTE-5, a Practitioner), time (NTE-6), on the order (OBR, or an ORC of its own) or result (OBX) it follows |
//! | IAR | AllergyIntolerance.reaction | manifestation (IAR-1), severity (IAR-2), note (IAR-4) of the IAM before it |
//! | MRG (A34, A36, A39, A40) | Patient | the merged record: identifier (MRG-1), `active: false`, link `replaced-by` the surviving Patient, which links it as `replaces` |
//! | PV1, PV2 | Encounter (+ Location, Practitioners) | status (from the event and PV1-45), class (PV1-2 as v3 ActCode), period, location (PV1-3 as a Location for the bed, room or point of care), participants (attending, referring, consulting, admitting as Practitioners), admit source, discharge disposition, reason |
//! | NK1 | RelatedPerson | name, relationship (table 0063), telecom, address |
//! | AL1 | AllergyIntolerance | code, category, criticality, reaction, onset |
//! | DG1 | Condition | code, category encounter-diagnosis, onset |
//! | PRB (PPR) | Condition | category `problem-list-item`, code (PRB-3), identifier (PRB-4, which keeps one id per problem), clinicalStatus (PRB-14, else `resolved` with a PRB-9 resolution date), verificationStatus (PRB-13; `entered-in-error` for action DE), onset (PRB-16, else PRB-17 text), recordedDate (PRB-7), abatement (PRB-9). The IG has no PRB map |
//! | IN1 | Coverage (+ Organization as payor) | status, beneficiary, payor, policy number, plan type, relationship, period |
//! | ORC/OBR | ServiceRequest | placer and filler identifiers, status, intent, code, requester, authoredOn; an OBX sent with an order (ORM, OML) as `supportingInfo` |
//! | TQ1 (orders) | ServiceRequest | occurrenceTiming (the same Timing as a MedicationRequest's), priority (TQ1-9), quantityQuantity (TQ1-2), note (TQ1-11), whether the TQ1 precedes the OBR or follows it |
//! | ROL | PractitionerRole | identifier (ROL-1), code (ROL-3, table 0443), practitioner (ROL-4), period (ROL-5/6), specialty (ROL-9), telecom (ROL-12), location (ROL-13), organization (ROL-14); after PID/PD1 the Patient's `generalPractitioner`, after PV1/PV2 a participant of the Encounter (type, period), after PR1 a performer of the Procedure (function ROL-3); elsewhere (the insurance group) noted and left out |
//! | OBR (ORU, OUL) | DiagnosticReport | status (OBR-25), code, effective, issued, specimen (the group's SPM), result (its OBX), basedOn |
//! | OBX | Observation | status (OBX-11), code, value\[x\] by OBX-2 (NM, ST, TX, FT, CWE/CE, SN, DT, TS/DTM, TM), UCUM units, referenceRange, interpretation, effective |
//! | RXA, RXR | Immunization | status, vaccineCode (CVX), occurrence, lot, expiration, dose, route, site, performers (RXA-10 as `AP`, ORC-12 as `OP`); from the ORC the placer and filler identifiers, recorded (ORC-9) and the ServiceRequest it fulfils (R5's `basedOn` as an extension); OBX after the RXA are `partOf` it |
//! | ORC, RXE or RXO, RXR, TQ1 (RDE, OMP, RDS, RAS) | MedicationRequest | identifier (ORC-2 `PLAC`, ORC-3 `FILL`, RXE-15), status (ORC-5, ORC-1), intent (`original-order` for RXO, `order` for RXE), priority (TQ1-9), medication (RXE-2 / RXO-1), authoredOn (ORC-9), requester (ORC-12, else RXE-13 / RXO-14), dosageInstruction (text TQ1-11, additionalInstruction RXE-7 / RXO-7 and TQ1-10, timing from TQ1: repeat pattern with the frequency of BID/TID/QID/QxH, the meal/sleep event, explicit times TQ1-4 as timeOfDay, bounds TQ1-7/8 or duration TQ1-6, duration TQ1-13, countMax TQ1-14; route, site, method from RXR; dose as quantity or range, rate, maximum daily dose RXE-19), dispenseRequest (quantity, refills), substitution (table 0167), supportingInformation (the group's OBX), notes; the same placer/filler numbers give the same resource in every message |
//! | RXD, RXR (RDS) | MedicationDispense | identifier (RXD-7), medication (RXD-2), whenHandedOver (RXD-3), quantity (RXD-4/5), note (RXD-9), performer (RXD-10), substitution (RXD-11), route, authorizingPrescription: the group's MedicationRequest |
//! | RXA, RXR (RAS) | MedicationAdministration | status (RXA-20, RXA-21; reason RXA-18 when not done), medication (RXA-5), effective (RXA-3, period to RXA-4), dosage (dose RXA-6/7, rate RXA-12/13, route), performers (RXA-10 `AP`, ORC-12 `OP`), identifiers (ORC), request: the group's MedicationRequest |
//! | PR1 | Procedure | identifier (PR1-19), status `completed`, category (PR1-6), code (PR1-3 with PR1-16's modifier, PR1-4 as text), performed (PR1-5, a period of PR1-7 minutes), performers (anesthesiologist PR1-8, surgeon PR1-11 with the IG's SNOMED CT functions, PR1-12), reasonCode (PR1-15) |
//! | FT1 (DFT) | ChargeItem | a charge (FT1-6 `CG`; credits, payments and adjustments are unmappable): identifier (FT1-2), code (FT1-7, else FT1-25), occurrence (FT1-4), enteredDate (FT1-5), quantity (FT1-10), priceOverride (FT1-11), reason (FT1-19), performer (FT1-20), enterer (FT1-24), product (FT1-29), note (FT1-8), account (PID-18) |
//!
//! Messages: ADT (every event: the resources come from the segments present), ORU^R01, ORM^O01,
//! OML^O21, OMG^O19, OUL^R22-R24, VXU^V04, SIU^S12-S26, MDM^T01-T11, RDE^O11/O25, RDS^O13, RAS^O17,
//! DFT^P03/P11, BAR^P01-P12, REF^I12-I14, PPR^PC1-PC3, and others built from the same segments. A
//! message without PID cannot be mapped.
//!
//! **Ids and references.** Every id is a UUID derived from the message's content, so the same
//! message always gives the same Bundle and a replay overwrites instead of duplicating: Patients from
//! their first identifier (the same patient in an A01 and an A08 is one resource), Practitioners from
//! their id and authority, Encounters from the visit number, everything else from MSH-3/MSH-4/MSH-10
//! and the segment's position. Entries have `fullUrl` `urn:uuid:<id>`, references point at those, and
//! each entry's request is `PUT <Type>/<id>` (an upsert in a transaction or a batch).
//!
//! **Times.** HL7 time stamps keep their precision (`1960` stays a year). A time of day needs an offset
//! in FHIR: the value's own (`+0215`), else `timezone` (e.g. `-05:00`); without either, only the date is
//! kept rather than inventing a zone. `issued` and the Bundle's `timestamp` (instants) are set only
//! from values precise to the second.
//!
//! **What cannot be mapped** (a patient class outside table 0004, an OBX value type such as ED, a
//! date that does not parse, an OBX without a code, an IN1 without a payor): with
//! `unmappable=skip` (the default) that element or resource is left out and a warning names the
//! segment and field (never the content; each kind of gap is warned about once, later ones at debug); with `unmappable=fail` the record fails with that message
//! and the connector's error policy routes it (retry, DLQ, fail the task). Never a panic.
//!
//! **Not mapped yet**, though the v2-to-FHIR IG defines them: PRT segments (participations, in 16
//! corpus messages; skipped), the insurance group's ROL (left out with a note, as above), a
//! Provenance per ORC, and OBX-5 repetitions after the first.
//!
//! ```
//! use connect_core::config::Props;
//! use connect_core::data::Value;
//! use connect_core::record::SourceRecord;
//! use connect_core::transform::Transformation;
//! use connect_smt::hl7_to_fhir::Hl7ToFhir;
//! use connect_smt::Target;
//!
//! let mut t = Hl7ToFhir::new(Target::Value);
//! Transformation::<SourceRecord>::configure(&mut t, &Props::new().with("output.format", "json")).unwrap();
//! let mut r = SourceRecord::default();
//! r.record.value = Value::String(
//!     "MSH|^~\\&|ADT|H|EHR|H|20240301083000+0000||ADT^A01|M1|P|2.5\rPID|1||123^^^H^MR||DOE^JANE||19600215|F\rPV1|1|I\r".into(),
//! );
//! let out = t.apply(r).unwrap().unwrap();
//! let json = out.record.value.as_str().unwrap();
//! assert!(json.starts_with(r#"{"resourceType":"Bundle""#));
//! assert!(json.contains(r#""gender":"female""#) && json.contains(r#""code":"IMP""#));
//! ```

/// `json!` as the maps use it (objects with literal keys, arrays, expressions), building the
/// Bundle's own [tree](tree): each value is moved in (`Json::from`), never serialized as a copy, and
/// each object is allocated once at its size.
macro_rules! json {
    ({ $($body:tt)* }) => {
        $crate::hl7_to_fhir::tree::Json::Object(json!(@object [] ($($body)*)))
    };
    ([ $($body:tt)* ]) => { json!(@array [] () ($($body)*)) };
    (null) => { $crate::hl7_to_fhir::tree::Json::Null };
    ($l:literal) => { $crate::hl7_to_fhir::tree::Literal::into_json($l) };
    // An object's pairs are gathered first, so its map is allocated once at its size.
    (@object [$($done:tt)*] ()) => {
        $crate::hl7_to_fhir::tree::JsonMap::from_pairs(vec![$($done)*])
    };
    (@object [$($done:tt)*] ($key:literal : $($rest:tt)*)) => {
        json!(@value [$($done)*] $key () ($($rest)*))
    };
    (@value [$($done:tt)*] $key:literal ($($v:tt)+) (, $($rest:tt)*)) => {
        json!(@object [$($done)* ($key.into(), json!($($v)+)),] ($($rest)*))
    };
    (@value [$($done:tt)*] $key:literal ($($v:tt)+) ()) => {
        json!(@object [$($done)* ($key.into(), json!($($v)+)),] ())
    };
    (@value [$($done:tt)*] $key:literal ($($v:tt)*) ($next:tt $($rest:tt)*)) => {
        json!(@value [$($done)*] $key ($($v)* $next) ($($rest)*))
    };
    (@array [$($done:tt)*] () ()) => { $crate::hl7_to_fhir::tree::Json::Array(vec![$($done)*]) };
    (@array [$($done:tt)*] ($($v:tt)+) ()) => { json!(@array [$($done)* json!($($v)+),] () ()) };
    (@array [$($done:tt)*] ($($v:tt)+) (, $($rest:tt)*)) => {
        json!(@array [$($done)* json!($($v)+),] () ($($rest)*))
    };
    (@array [$($done:tt)*] ($($v:tt)*) ($next:tt $($rest:tt)*)) => {
        json!(@array [$($done)*] ($($v)* $next) ($($rest)*))
    };
    ($e:expr) => { $crate::hl7_to_fhir::tree::Json::from($e) };
}

mod convert;
mod datatypes;
mod tree;

use bytes::Bytes;
use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::data::{Schema, Value};
use connect_core::error::{ConfigError, ConnectError, DataError};
use connect_core::hl7::{structured, Message};
use connect_core::record::Record;
use connect_core::transform::Transformation;

use self::convert::{to_bundle, Options};
use self::datatypes::Time;
use self::tree::Json;
use crate::target::Target;

/// See the [module docs](self).
pub struct Hl7ToFhir {
    target: Target,
    opts: Options,
    json_text: bool,
    resource_type: Option<String>,
    /// The kinds of gaps already warned about.
    seen: std::sync::Mutex<std::collections::HashSet<String>>,
    /// The length of the last JSON text written (`output.format=json`), to presize the next.
    json_len_hint: std::sync::atomic::AtomicUsize,
}

/// The largest presize for a Bundle's JSON text (a larger Bundle grows its buffer as it is written).
const JSON_LEN_HINT_MAX: usize = 1 << 20;

/// What kind of gap a skip note is, without its positions: `OBX(3)-5: value of type 'ED'` and
/// `OBX(7)-5: value of type 'ED'` are the same kind.
fn gap_kind(note: &str) -> String {
    let mut out = String::with_capacity(note.len());
    let mut in_parens = false;
    for c in note.chars() {
        match c {
            '(' => in_parens = true,
            ')' => in_parens = false,
            _ if !in_parens => out.push(c),
            _ => {}
        }
    }
    out
}

impl std::fmt::Debug for Hl7ToFhir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hl7ToFhir")
            .field("target", &self.target)
            .field("bundle.type", &self.opts.bundle_type)
            .field("resource.type", &self.resource_type)
            .finish_non_exhaustive()
    }
}

impl Hl7ToFhir {
    /// An unconfigured transform for the key or the value.
    pub fn new(target: Target) -> Self {
        Hl7ToFhir {
            target,
            opts: Options {
                bundle_type: "transaction",
                time: Time {
                    default_offset: None,
                },
                fail_on_unmappable: false,
            },
            json_text: false,
            resource_type: None,
            seen: std::sync::Mutex::new(std::collections::HashSet::new()),
            json_len_hint: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Converts one message to the configured output (a Bundle, or one resource) as a
    /// `serde_json::Value`. `None` when `resource.type` names a type the message does not give (under
    /// `unmappable=skip`).
    pub fn convert(&self, msg: &Message) -> Result<Option<serde_json::Value>, DataError> {
        Ok(self.convert_tree(msg)?.map(Json::into_serde))
    }

    /// Converts one message to the configured output and appends it to `out` as compact JSON (the
    /// text `serde_json::to_string` gives for [`convert`](Self::convert)'s value, but for a control
    /// character without a short escape, written `\u001F` as Kafka Connect's JsonConverter writes
    /// it), written straight from the Bundle being built. Returns false, writing nothing, when
    /// `resource.type` names a type the message does not give (under `unmappable=skip`).
    ///
    /// ```
    /// use connect_core::hl7::Message;
    /// use connect_smt::hl7_to_fhir::Hl7ToFhir;
    /// use connect_smt::Target;
    ///
    /// let smt = Hl7ToFhir::new(Target::Value);
    /// let msg = Message::parse(
    ///     "MSH|^~\\&|ADT|H|EHR|H|20240301083000+0000||ADT^A01|M1|P|2.5\rPID|1||123^^^H^MR||DOE^JANE\r"
    ///         .into(),
    /// )
    /// .unwrap();
    /// let mut out = Vec::new();
    /// assert!(smt.convert_to_json(&msg, &mut out).unwrap());
    /// assert!(out.starts_with(br#"{"resourceType":"Bundle""#));
    /// ```
    pub fn convert_to_json(&self, msg: &Message, out: &mut Vec<u8>) -> Result<bool, DataError> {
        match self.convert_tree(msg)? {
            Some(tree) => {
                tree.write_json(out);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The Bundle (or the one resource of `resource.type`) as the tree the maps built.
    fn convert_tree(&self, msg: &Message) -> Result<Option<Json>, DataError> {
        let (bundle, skipped) = to_bundle(msg, &self.opts)
            .map_err(|e| DataError::new(format!("HL7ToFHIR: {}", e.0)))?;
        if !skipped.is_empty() {
            self.log_skipped(msg, &skipped);
        }
        let Some(ty) = &self.resource_type else {
            return Ok(Some(bundle));
        };
        let found = match bundle {
            Json::Object(mut b) => match b.remove("entry") {
                Some(Json::Array(entries)) => entries.into_iter().find_map(|e| match e {
                    Json::Object(mut e) => e
                        .remove("resource")
                        .filter(|r| r["resourceType"].as_str() == Some(ty.as_str())),
                    _ => None,
                }),
                _ => None,
            },
            _ => None,
        };
        match found {
            Some(r) => Ok(Some(r)),
            None if self.opts.fail_on_unmappable => Err(DataError::new(format!(
                "HL7ToFHIR: the message gives no {ty}"
            ))),
            None => Ok(None),
        }
    }

    /// Logs what a conversion left out: a warning for each kind of gap the first time, then debug.
    fn log_skipped(&self, msg: &Message, skipped: &[String]) {
        // A feed that always carries, say, an ED observation would otherwise log on every message.
        let new = self.seen.lock().is_ok_and(|mut seen| {
            let mut any = false;
            for s in skipped {
                let kind = gap_kind(s);
                if seen.len() < 1024 && seen.insert(kind) {
                    any = true;
                }
            }
            any
        });
        if new {
            tracing::warn!(
                control_id = msg.control_id().unwrap_or_default(),
                skipped = skipped.join("; "),
                "HL7ToFHIR left out parts it cannot map (later messages with the same gaps log at debug)"
            );
        } else {
            tracing::debug!(
                control_id = msg.control_id().unwrap_or_default(),
                skipped = skipped.join("; "),
                "HL7ToFHIR left out parts it cannot map"
            );
        }
    }

    fn message_of(v: &Value) -> Result<Message, DataError> {
        let bad = |e: connect_core::hl7::Hl7Error| {
            DataError::new(format!("HL7ToFHIR: not an HL7 v2 message: {e}"))
        };
        match v {
            Value::String(s) => Message::parse(Bytes::copy_from_slice(s.as_bytes())).map_err(bad),
            Value::Bytes(b) => Message::parse(b.clone()).map_err(bad),
            m @ Value::Map(_) if structured::is_structured(m) => {
                let er7 = structured::from_value(m)
                    .map_err(|e| DataError::new(format!("HL7ToFHIR: {e}")))?;
                Message::parse(Bytes::from(er7)).map_err(bad)
            }
            other => Err(DataError::new(format!(
                "HL7ToFHIR needs HL7 text, bytes or a structured HL7 map, not {}",
                other.type_name()
            ))),
        }
    }
}

impl<R: Record> Transformation<R> for Hl7ToFhir {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                "bundle.type",
                ConfigType::String,
                Some("transaction"),
                Importance::Medium,
                "transaction or batch.",
            )
            .with_validator("bundle.type", Validator::one_of(&["transaction", "batch"]))
            .define_optional(
                "resource.type",
                ConfigType::String,
                Importance::Medium,
                "Output only the first resource of this type (e.g. Patient) instead of the Bundle.",
            )
            .define(
                "output.format",
                ConfigType::String,
                Some("map"),
                Importance::Medium,
                "map: a schemaless map; json: JSON text.",
            )
            .with_validator("output.format", Validator::one_of(&["map", "json"]))
            .define(
                "unmappable",
                ConfigType::String,
                Some("skip"),
                Importance::Medium,
                "skip: leave out what cannot be mapped, with a warning; fail: fail the record.",
            )
            .with_validator("unmappable", Validator::one_of(&["skip", "fail"]))
            .define(
                "timezone",
                ConfigType::String,
                Some(""),
                Importance::Medium,
                "Offset (+hh:mm, -hh:mm or Z) for HL7 times without one; empty keeps only their date.",
            )
    }

    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        self.opts.bundle_type = if c.string("bundle.type") == Some("batch") {
            "batch"
        } else {
            "transaction"
        };
        self.opts.fail_on_unmappable = c.string("unmappable") == Some("fail");
        self.json_text = c.string("output.format") == Some("json");
        self.resource_type = c
            .string("resource.type")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        if let Some(t) = &self.resource_type {
            if !t.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                || !t.chars().all(|c| c.is_ascii_alphanumeric())
            {
                return Err(ConfigError::new(
                    "resource.type",
                    "must be a FHIR resource type such as Patient",
                ));
            }
        }
        let tz = c.string("timezone").unwrap_or("").trim();
        self.opts.time.default_offset = match tz {
            "" => None,
            "Z" | "z" => Some("+00:00".into()),
            t if t.len() == 6
                && (t.starts_with('+') || t.starts_with('-'))
                && t.as_bytes()[3] == b':'
                && t[1..3].parse::<u8>().is_ok_and(|h| h <= 14)
                && t[4..6].parse::<u8>().is_ok_and(|m| m <= 59) =>
            {
                Some(t.to_owned())
            }
            _ => {
                return Err(ConfigError::new(
                    "timezone",
                    "must be an offset such as -05:00, +01:00 or Z",
                ))
            }
        };
        Ok(())
    }

    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        let base = record.base_mut();
        let (_, value) = self.target.get(base);
        if value.is_null() {
            return Ok(Some(record));
        }
        let msg = Self::message_of(value)?;
        let Some(out) = self.convert_tree(&msg)? else {
            // resource.type with nothing of that type, under unmappable=skip: the record is dropped.
            return Ok(None);
        };
        let (schema, value) = if self.json_text {
            // Presized from the last Bundle's length, so the text is written without regrowing.
            let hint = self
                .json_len_hint
                .load(std::sync::atomic::Ordering::Relaxed);
            let mut bytes = Vec::with_capacity(hint);
            out.write_json(&mut bytes);
            self.json_len_hint.store(
                bytes.len().min(JSON_LEN_HINT_MAX),
                std::sync::atomic::Ordering::Relaxed,
            );
            let text = String::from_utf8(bytes)
                .map_err(|_| DataError::new("HL7ToFHIR: the Bundle's JSON is not UTF-8"))?;
            (Some(Schema::string()), Value::String(text))
        } else {
            (None, out.into_value())
        };
        self.target.set(base, schema, value);
        Ok(Some(record))
    }
}
