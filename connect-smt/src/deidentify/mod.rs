//! `Deidentify$Value` / `Deidentify$Key`: HIPAA Safe Harbor-style de-identification of PHI, beyond
//! what MaskField does, configured per field path.
//!
//! Each option lists paths; a path is read as a record field path (`patient.ssn`), an HL7 path
//! (`PID.19`, on the structured HL7 map or on ER7 text/bytes) or a FHIR path (`Patient.name`, on a
//! resource or the resources of a Bundle, as a map or JSON text), whichever fits the record — see
//! [`paths`](self) for the exact rules. One config can hold all three kinds, so the same transform
//! serves a topic of HL7 messages, one of FHIR resources and one of CDC rows.
//!
//! | option | does | to |
//! |---|---|---|
//! | `remove.fields` | removes the element (null when the schema allows, else an empty value; HL7 fields emptied, FHIR elements deleted) | anything |
//! | `pseudonymize.fields` | replaces with a keyed HMAC-SHA256 token: the same input and key always give the same token, so joins across topics still work | strings (hex token, `pseudonym.length` hex digits after `pseudonym.prefix`), int32/int64 (a non-negative number) |
//! | `date.shift.fields` | moves dates by a per-patient offset of 1 to `date.shift.max.days` days, earlier or later, derived from the key and the patient id at `date.shift.subject` (a list: the first path with a value in the record counts, so one config serves HL7, FHIR and rows): every date of one patient moves by the same amount, so intervals stay true | Date, Timestamp, Debezium's `io.debezium.time.*` integers, HL7 `YYYYMMDD…` and ISO `YYYY-MM-DD…` text (time and offset kept; a year or year-month is reduced to the year) |
//! | `year.fields` | keeps only the year; a year more than 89 years before the record's timestamp (or now) becomes that reference year minus 90 | the same date kinds |
//! | `age.fields` | ages over 89 become 90 (text: `90+`) | numbers, numeric text |
//! | `zip.fields` | first three digits of a US ZIP code; `000` for the prefixes in `zip.restricted.prefixes` (HHS's list of 3-digit areas with 20,000 or fewer people) and for anything that is not a US ZIP | text, int32/int64 |
//! | `redact.fields` | replaces SSNs, phone numbers, e-mail addresses and MRN-labelled ids in free text with `[SSN]`, `[PHONE]`, `[EMAIL]`, `[MRN]` (`redact.patterns` chooses; `redact.mrn.pattern` is the MRN regex) | text |
//!
//! Operations on a struct, map or array apply to every value beneath it. Order within a record:
//! remove, date shift, year, age, ZIP, redact, pseudonymize; the date-shift subject is read before any
//! of them. A value an option cannot handle (say a boolean under `date.shift.fields`), a date that does
//! not parse, or a record without a date-shift subject is a data error naming the option and the path,
//! never the value; the connector's error policy routes the record.
//!
//! # The 18 Safe Harbor identifiers (45 CFR 164.514(b)(2)) and the options that cover them
//!
//! | # | identifier | option (example paths) |
//! |---|---|---|
//! | 1 | names | `remove.fields` (`PID.5`, `PID.6`, `PID.9`, `NK1.2`, `Patient.name`, `RelatedPerson.name`) |
//! | 2 | geographic subdivisions smaller than a state | `remove.fields` for street, city, county (`PID.11.1`, `PID.11.3`, `PID.11.9`, `Patient.address.line`, `Patient.address.city`); `zip.fields` for ZIP codes (`PID.11.5`, `Patient.address.postalCode`) |
//! | 3 | dates (except year) related to the individual; ages over 89 | `year.fields` (`PID.7`, `Patient.birthDate`, `PV1.44`); `age.fields`; `date.shift.fields` keeps intervals but is not Safe Harbor (see below) |
//! | 4 | telephone numbers | `remove.fields` (`PID.13`, `PID.14`, `Patient.telecom`); `redact.fields` in text |
//! | 5 | fax numbers | `remove.fields` (telecom elements); `redact.fields` (phone pattern) in text |
//! | 6 | e-mail addresses | `remove.fields`; `redact.fields` in text |
//! | 7 | Social Security numbers | `remove.fields` (`PID.19`); `redact.fields` in text |
//! | 8 | medical record numbers | `remove.fields` or `pseudonymize.fields` (`PID.3.1`, `Patient.identifier.value`); `redact.fields` (MRN pattern) in text |
//! | 9 | health plan beneficiary numbers | `remove.fields` or `pseudonymize.fields` (`IN1.36`, `IN1.49`, `Coverage.subscriberId`) |
//! | 10 | account numbers | `remove.fields` or `pseudonymize.fields` (`PID.18`, `Account.identifier`) |
//! | 11 | certificate/license numbers | `remove.fields` (`PID.20`) |
//! | 12 | vehicle identifiers and serial numbers, including license plates | `remove.fields` (wherever a feed carries them) |
//! | 13 | device identifiers and serial numbers | `remove.fields` (`Device.identifier`, `Device.udiCarrier`) |
//! | 14 | URLs | `remove.fields`; free text is not scanned for URLs |
//! | 15 | IP addresses | `remove.fields`; free text is not scanned for IP addresses |
//! | 16 | biometric identifiers | `remove.fields` |
//! | 17 | full-face photographs and comparable images | `remove.fields` (`Patient.photo`, `OBX.5` of ED observations) |
//! | 18 | any other unique identifying number, characteristic or code | `pseudonymize.fields` or `remove.fields` |
//!
//! Two limits to know. Safe Harbor allows a re-identification code only if it is *not derived from
//! information about the individual* (164.514(c)); a keyed pseudonym of an MRN is derived from it, and
//! a shifted date is still a date, so `pseudonymize.fields` and `date.shift.fields` belong to an expert
//! determination (164.514(b)(1)), where keeping joins and intervals is the point — for strict Safe Harbor,
//! use `remove.fields` and `year.fields` instead. And free-text redaction finds the patterns above, not
//! names or addresses written in prose: notes must be removed, or reviewed, before data leaves the
//! covered entity.
//!
//! ```
//! use connect_core::config::Props;
//! use connect_core::data::{Map, Value};
//! use connect_core::record::SourceRecord;
//! use connect_core::transform::Transformation;
//! use connect_smt::deidentify::Deidentify;
//! use connect_smt::Target;
//!
//! let mut t = Deidentify::new(Target::Value);
//! Transformation::<SourceRecord>::configure(
//!     &mut t,
//!     &Props::new()
//!         .with("pseudonym.key", "0123456789abcdef0123456789abcdef")
//!         .with("pseudonymize.fields", "mrn")
//!         .with("zip.fields", "zip")
//!         .with("redact.fields", "note"),
//! )
//! .unwrap();
//! let mut value = Map::new();
//! value.insert("mrn", "M123456");
//! value.insert("zip", "02139");
//! value.insert("note", "call 617-555-0101");
//! let mut record = SourceRecord::default();
//! record.record.value = Value::Map(value);
//! let out = t.apply(record).unwrap().unwrap();
//! let v = out.record.value.as_map().unwrap();
//! assert_eq!(v.get("zip").and_then(Value::as_str), Some("021"));
//! assert_eq!(v.get("note").and_then(Value::as_str), Some("call [PHONE]"));
//! assert_eq!(v.get("mrn").and_then(Value::as_str).map(str::len), Some(32));
//! ```

mod ops;
pub mod paths;

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::converter::JsonConverter;
use connect_core::data::{civil_from_days, Value};
use connect_core::error::{ConfigError, ConnectError, DataError};
use connect_core::hl7::{structured, Message};
use connect_core::record::Record;
use connect_core::transform::Transformation;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use self::ops::{shift_for, Context, Op, Redactor, RESTRICTED_ZIP3};
use self::paths::{shape, FieldPath, Shape};
use crate::target::Target;

/// See the [module docs](self).
pub struct Deidentify {
    target: Target,
    rules: Vec<(Op, FieldPath)>,
    mac: Option<Hmac<Sha256>>,
    token_bytes: usize,
    token_prefix: String,
    shift_subject: Vec<FieldPath>,
    shift_max_days: i64,
    restricted_zip3: HashSet<String>,
    redactor: Redactor,
    json: JsonConverter,
}

impl std::fmt::Debug for Deidentify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deidentify")
            .field("target", &self.target)
            .field("rules", &self.rules.len())
            .field("pseudonym.key", &"[hidden]")
            .finish_non_exhaustive()
    }
}

impl Deidentify {
    /// An unconfigured transform for the key or the value.
    pub fn new(target: Target) -> Self {
        Deidentify {
            target,
            rules: Vec::new(),
            mac: None,
            token_bytes: 16,
            token_prefix: String::new(),
            shift_subject: Vec::new(),
            shift_max_days: 365,
            restricted_zip3: HashSet::new(),
            redactor: Redactor::none(),
            json: JsonConverter::new(false),
        }
    }

    fn context(&self, shift_days: Option<i64>, reference_year: i64) -> Context<'_> {
        Context {
            mac: self.mac.as_ref(),
            token_bytes: self.token_bytes,
            token_prefix: &self.token_prefix,
            shift_days,
            reference_year,
            restricted_zip3: &self.restricted_zip3,
            redactor: &self.redactor,
        }
    }

    /// Applies every rule to a key or value of a known shape.
    fn apply_shaped(
        &self,
        v: &mut Value,
        schema: Option<&connect_core::data::Schema>,
        shape: Shape,
        reference_year: i64,
    ) -> Result<(), DataError> {
        let shift_days = match &self.mac {
            Some(mac) => self
                .shift_subject
                .iter()
                .find_map(|p| p.read(v, shape))
                .map(|s| shift_for(mac, &s, self.shift_max_days)),
            None => None,
        };
        let cx = self.context(shift_days, reference_year);
        for (op, path) in &self.rules {
            path.apply(v, schema, shape, *op, &cx).map_err(|e| {
                DataError::new(format!("Deidentify {} '{}': {e}", op.key(), path.text))
            })?;
        }
        Ok(())
    }

    /// Parses ER7 text into the structured form, applies the rules, encodes it back.
    fn apply_er7(&self, raw: Bytes, reference_year: i64) -> Result<Vec<u8>, DataError> {
        let msg = Message::parse(raw)
            .map_err(|e| DataError::new(format!("Deidentify: not an HL7 v2 message: {e}")))?;
        let mut v = structured::to_value(&msg);
        self.apply_shaped(&mut v, None, Shape::Hl7, reference_year)?;
        structured::from_value(&v).map_err(|e| DataError::new(format!("Deidentify: {e}")))
    }

    fn apply_value(
        &self,
        v: &mut Value,
        schema: Option<&connect_core::data::Schema>,
        reference_year: i64,
    ) -> Result<(), DataError> {
        match v {
            Value::Null => Ok(()),
            Value::String(s) if looks_like_er7(s.as_bytes()) => {
                let out = self.apply_er7(Bytes::copy_from_slice(s.as_bytes()), reference_year)?;
                // Written in the message's MSH-18 charset; read back as text the same way.
                let m = Message::parse(Bytes::from(out))
                    .map_err(|e| DataError::new(format!("Deidentify: {e}")))?;
                *s = m.decode_text(m.raw());
                Ok(())
            }
            Value::Bytes(b) if looks_like_er7(b) => {
                *b = Bytes::from(self.apply_er7(b.clone(), reference_year)?);
                Ok(())
            }
            Value::String(s) if s.trim_start().starts_with('{') && s.contains("resourceType") => {
                let mut parsed = self.json.decode(Some(s.as_bytes()))?.value;
                if shape(&parsed) != Shape::Fhir {
                    return Ok(());
                }
                self.apply_shaped(&mut parsed, None, Shape::Fhir, reference_year)?;
                let out = self.json.encode(None, &parsed)?.unwrap_or_default();
                *s = String::from_utf8(out)
                    .map_err(|_| DataError::new("Deidentify: JSON output is not UTF-8"))?;
                Ok(())
            }
            other => {
                let sh = shape(other);
                self.apply_shaped(other, schema, sh, reference_year)
            }
        }
    }
}

fn looks_like_er7(b: &[u8]) -> bool {
    let b = b.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(b);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let b = &b[start..];
    (b.starts_with(b"MSH") || b.starts_with(b"FHS") || b.starts_with(b"BHS")) && b.len() > 8
}

fn reference_year(timestamp_ms: Option<i64>) -> i64 {
    let ms = timestamp_ms.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    });
    civil_from_days(ms.div_euclid(86_400_000)).0
}

impl<R: Record> Transformation<R> for Deidentify {
    fn config_def(&self) -> ConfigDef {
        let mut def = ConfigDef::new();
        for op in Op::ALL {
            def = def.define(
                op.key(),
                ConfigType::List,
                Some(""),
                Importance::High,
                "Paths (record, HL7 or FHIR) to apply this operation to.",
            );
        }
        def.define_optional(
            "pseudonym.key",
            ConfigType::Password,
            Importance::High,
            "HMAC-SHA256 key for pseudonyms and date shifts (at least 16 bytes; use a config provider).",
        )
        .define(
            "pseudonym.length",
            ConfigType::Int,
            Some("32"),
            Importance::Low,
            "Hex digits of a string token (even, 8 to 64).",
        )
        .with_validator("pseudonym.length", Validator::range(8, 64))
        .define(
            "pseudonym.prefix",
            ConfigType::String,
            Some(""),
            Importance::Low,
            "Text before every string token.",
        )
        .define(
            "date.shift.subject",
            ConfigType::List,
            Some(""),
            Importance::High,
            "Paths of the patient identifier whose offset shifts a record's dates; the first that has a value counts.",
        )
        .define(
            "date.shift.max.days",
            ConfigType::Int,
            Some("365"),
            Importance::Medium,
            "Largest shift, in days, either way.",
        )
        .with_validator("date.shift.max.days", Validator::range(1, 3650))
        .define(
            "zip.restricted.prefixes",
            ConfigType::List,
            Some(RESTRICTED_ZIP3),
            Importance::Low,
            "3-digit ZIP prefixes written as 000.",
        )
        .define(
            "redact.patterns",
            ConfigType::List,
            Some("ssn,phone,email,mrn"),
            Importance::Medium,
            "What redact.fields finds in text: ssn, phone, email, mrn.",
        )
        .define(
            "redact.mrn.pattern",
            ConfigType::String,
            Some(Redactor::DEFAULT_MRN),
            Importance::Low,
            "Regular expression of a medical record number in text.",
        )
    }

    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        let mut problems = ConfigError { problems: vec![] };
        self.rules.clear();
        for op in Op::ALL {
            for p in c.list(op.key()) {
                match FieldPath::parse(p) {
                    Ok(fp) => self.rules.push((op, fp)),
                    Err(e) => problems.extend(ConfigError::new(op.key(), e)),
                }
            }
        }
        if self.rules.is_empty() {
            problems.extend(ConfigError::new(
                "remove.fields",
                "no paths: list at least one under remove.fields, pseudonymize.fields, date.shift.fields, year.fields, age.fields, zip.fields or redact.fields",
            ));
        }
        let needs_key = self
            .rules
            .iter()
            .any(|(op, _)| matches!(op, Op::Pseudonymize | Op::DateShift));
        self.mac = None;
        match c.password("pseudonym.key") {
            Some(k) if k.expose().len() < 16 => problems.extend(ConfigError::new(
                "pseudonym.key",
                "must be at least 16 bytes (a random 32-byte secret is recommended)",
            )),
            Some(k) => match Hmac::<Sha256>::new_from_slice(k.expose().as_bytes()) {
                Ok(m) => self.mac = Some(m),
                Err(_) => {
                    problems.extend(ConfigError::new("pseudonym.key", "unusable as an HMAC key"))
                }
            },
            None if needs_key => problems.extend(ConfigError::new(
                "pseudonym.key",
                "required by pseudonymize.fields and date.shift.fields",
            )),
            None => {}
        }
        let len = c.int("pseudonym.length");
        if len % 2 != 0 {
            problems.extend(ConfigError::new("pseudonym.length", "must be even"));
        }
        self.token_bytes = (len / 2).clamp(4, 32) as usize;
        self.token_prefix = c.string("pseudonym.prefix").unwrap_or("").to_owned();
        self.shift_max_days = i64::from(c.int("date.shift.max.days"));
        self.shift_subject.clear();
        for s in c.list("date.shift.subject") {
            match FieldPath::parse(s) {
                Ok(p) => self.shift_subject.push(p),
                Err(e) => problems.extend(ConfigError::new("date.shift.subject", e)),
            }
        }
        if self.shift_subject.is_empty() && self.rules.iter().any(|(op, _)| *op == Op::DateShift) {
            problems.extend(ConfigError::new(
                "date.shift.subject",
                "required by date.shift.fields: the path of the patient id (e.g. PID.3.1, Patient.identifier.value, mrn)",
            ))
        }
        self.restricted_zip3 = c.list("zip.restricted.prefixes").iter().cloned().collect();
        if let Some(bad) = self
            .restricted_zip3
            .iter()
            .find(|p| p.len() != 3 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            problems.extend(ConfigError::new(
                "zip.restricted.prefixes",
                format!("'{bad}' is not three digits"),
            ));
        }
        match Redactor::new(
            c.list("redact.patterns"),
            c.string("redact.mrn.pattern")
                .unwrap_or(Redactor::DEFAULT_MRN),
        ) {
            Ok(r) => self.redactor = r,
            Err(e) => problems.extend(ConfigError::new("redact.patterns", e)),
        }
        if problems.problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        let base = record.base_mut();
        let year = reference_year(base.timestamp);
        let (schema, mut value) = self.target.take(base);
        let result = self.apply_value(&mut value, schema.as_ref(), year);
        self.target.set(base, schema, value);
        result?;
        Ok(Some(record))
    }
}
