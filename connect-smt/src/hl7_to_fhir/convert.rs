//! One HL7 v2 message to a FHIR R4 Bundle: segments to resources, after the HL7 v2-to-FHIR IG's
//! segment maps, with deterministic ids and references between the Bundle's entries.

use connect_core::hl7::Message;
use serde_json::{json, Map as JsonMap, Value as Json};
use sha2::{Digest, Sha256};

use super::datatypes::{
    address, codeable, concept, contact_point, decimal, human_name, identifier, period, quantity,
    v2_table, Rep, Seg, Time,
};

/// Settings of a conversion.
pub(crate) struct Options {
    pub(crate) bundle_type: &'static str,
    pub(crate) time: Time,
    pub(crate) fail_on_unmappable: bool,
}

/// Why a message or a part of it could not be mapped. Names the segment and field, never content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unmappable(pub(crate) String);

const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
const PARTICIPANT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/provenance-participant-type";
const ROLE_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
const IDENTIFIER_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
const CDC_RACE_ETHNICITY: &str = "urn:oid:2.16.840.1.113883.6.238";
const EXT: &str = "http://hl7.org/fhir/StructureDefinition/";
const US_CORE: &str = "http://hl7.org/fhir/us/core/StructureDefinition/";

/// A Bundle being built: entries in order, one per resource id.
struct Builder<'a> {
    msg: &'a Message,
    opts: &'a Options,
    /// Ids are derived from this: sending application, facility and control id.
    message_key: String,
    entries: Vec<(String, Json)>,
    skipped: Vec<String>,
}

/// A deterministic UUID (version 5 layout) from a name: the same inputs always give the same id.
pub(crate) fn uuid_of(name: &str) -> String {
    let h = Sha256::digest(name.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(x >> 4)]));
        out.push(char::from(HEX[usize::from(x & 15)]));
    }
    out
}

fn reference(id: &str) -> Json {
    json!({ "reference": format!("urn:uuid:{id}") })
}

impl<'a> Builder<'a> {
    fn seg(&self, name: &str, occurrence: usize) -> Seg<'a> {
        Seg::new(self.msg, name, occurrence)
    }

    /// Adds a resource under `id` (a later resource with the same id merges into nothing: the first
    /// one stays). Returns the id.
    fn add(
        &mut self,
        resource_type: &str,
        id: String,
        mut resource: JsonMap<String, Json>,
    ) -> String {
        if self.entries.iter().any(|(i, _)| *i == id) {
            return id;
        }
        let mut r = JsonMap::with_capacity(resource.len() + 2);
        r.insert("resourceType".into(), json!(resource_type));
        r.insert("id".into(), json!(id));
        r.append(&mut resource);
        self.entries.push((id.clone(), Json::Object(r)));
        id
    }

    /// Appends `value` to the array `field` of the resource added under `id` (creating the array).
    fn push_to(&mut self, id: &str, field: &str, value: Json) {
        if let Some((_, Json::Object(r))) = self.entries.iter_mut().find(|(i, _)| i == id) {
            match r.get_mut(field) {
                Some(Json::Array(list)) => list.push(value),
                _ => {
                    r.insert(field.to_owned(), Json::Array(vec![value]));
                }
            }
        }
    }

    /// Sets `field` of the resource added under `id`, unless it has one.
    fn set_if_absent(&mut self, id: &str, field: &str, value: Json) {
        if let Some((_, Json::Object(r))) = self.entries.iter_mut().find(|(i, _)| i == id) {
            r.entry(field.to_owned()).or_insert(value);
        }
    }

    fn unmappable(&mut self, what: String) -> Result<(), Unmappable> {
        if self.opts.fail_on_unmappable {
            Err(Unmappable(what))
        } else {
            self.skipped.push(what);
            Ok(())
        }
    }

    fn id_for(&self, kind: &str, key: &str) -> String {
        uuid_of(&format!("{}|{kind}|{key}", self.message_key))
    }

    /// A Practitioner from an XCN (id, name), identified by its id and assigning authority when it has
    /// one, so the same clinician is the same resource in every message.
    fn practitioner(&mut self, rep: &Rep<'_>) -> Option<String> {
        let ident = rep.c(1);
        let name = human_name(rep, 2, None);
        if ident.is_none() && name.is_none() {
            return None;
        }
        let authority = rep.s(9, 1).unwrap_or_default();
        let id = match &ident {
            Some(i) => uuid_of(&format!("Practitioner|{authority}|{i}")),
            None => self.id_for("Practitioner", &rep.whole().unwrap_or_default()),
        };
        let mut p = JsonMap::new();
        if let Some(i) = ident {
            let mut idj = json!({ "value": i });
            if let Some(oid) = rep
                .s(9, 2)
                .filter(|_| rep.s(9, 3).as_deref() == Some("ISO"))
            {
                idj["system"] = json!(format!("urn:oid:{oid}"));
            }
            p.insert("identifier".into(), Json::Array(vec![idj]));
        }
        if let Some(n) = name {
            p.insert("name".into(), Json::Array(vec![n]));
        }
        Some(self.add("Practitioner", id, p))
    }

    fn patient(&mut self) -> Result<Option<String>, Unmappable> {
        if self.msg.segment("PID", 1).is_none() {
            return Ok(None);
        }
        let pid = self.seg("PID", 1);
        let opts = self.opts;
        let t = &opts.time;
        let identifiers = patient_identifiers(&pid, t);
        // The patient's id follows its first PID-3 identifier (value and authority): the same
        // patient in an A01 and a later A08 is the same resource.
        let id = match pid.reps(3).first() {
            Some(r) => uuid_of(&format!(
                "Patient|{}|{}",
                r.c(4).unwrap_or_default(),
                r.c(1).unwrap_or_default()
            )),
            None => self.id_for("Patient", "PID"),
        };
        let mut p = JsonMap::new();
        if !identifiers.is_empty() {
            p.insert("identifier".into(), Json::Array(identifiers));
        }
        let names: Vec<Json> = pid
            .reps(5)
            .iter()
            .filter_map(|r| human_name(r, 1, Some(7)))
            .collect();
        if !names.is_empty() {
            p.insert("name".into(), Json::Array(names));
        }
        let mut telecom: Vec<Json> = pid
            .reps(13)
            .iter()
            .filter_map(|r| contact_point(r, Some("home")))
            .collect();
        telecom.extend(
            pid.reps(14)
                .iter()
                .filter_map(|r| contact_point(r, Some("work"))),
        );
        if !telecom.is_empty() {
            p.insert("telecom".into(), Json::Array(telecom));
        }
        if let Some(g) = pid.f(8) {
            let gender = match g.as_str() {
                "M" => Some("male"),
                "F" => Some("female"),
                "O" | "A" => Some("other"),
                "U" | "N" => Some("unknown"),
                _ => None,
            };
            match gender {
                Some(x) => {
                    p.insert("gender".into(), json!(x));
                }
                None => self.unmappable("PID-8: administrative sex not in table 0001".into())?,
            }
        }
        if let Some(b) = pid.f(7) {
            match t.date(&b) {
                Some(d) => {
                    p.insert("birthDate".into(), json!(d));
                }
                None => self.unmappable("PID-7: not an HL7 date".into())?,
            }
        }
        match (pid.f(30).as_deref(), pid.f(29)) {
            (_, Some(ts)) => match t.date_time(&ts) {
                Some(d) => {
                    p.insert("deceasedDateTime".into(), json!(d));
                }
                None => self.unmappable("PID-29: not an HL7 date/time".into())?,
            },
            (Some("Y"), None) => {
                p.insert("deceasedBoolean".into(), json!(true));
            }
            (Some("N"), None) => {
                p.insert("deceasedBoolean".into(), json!(false));
            }
            _ => {}
        }
        let addresses: Vec<Json> = pid.reps(11).iter().filter_map(address).collect();
        if !addresses.is_empty() {
            p.insert("address".into(), Json::Array(addresses));
        }
        if let Some(m) = pid
            .rep(16)
            .and_then(|r| codeable(&r, Some(&v2_table("0002"))))
        {
            p.insert("maritalStatus".into(), m);
        }
        match (
            pid.f(25).and_then(|n| n.trim().parse::<i64>().ok()),
            pid.f(24).as_deref(),
        ) {
            (Some(order), _) => {
                p.insert("multipleBirthInteger".into(), json!(order));
            }
            (None, Some("Y")) => {
                p.insert("multipleBirthBoolean".into(), json!(true));
            }
            (None, Some("N")) => {
                p.insert("multipleBirthBoolean".into(), json!(false));
            }
            _ => {}
        }
        let extensions = patient_extensions(&pid);
        if !extensions.is_empty() {
            p.insert("extension".into(), Json::Array(extensions));
        }
        // PID-7 with a time of day: the birth time, as an extension of birthDate.
        if let Some(b) = pid.f(7).filter(|b| b.trim().len() > 8) {
            if let (Some(_), Some(dt)) = (p.get("birthDate"), t.date_time(&b)) {
                if dt.contains('T') {
                    p.insert(
                        "_birthDate".into(),
                        json!({ "extension": [{
                            "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                            "valueDateTime": dt
                        }] }),
                    );
                }
            }
        }
        // PID-15: the primary language.
        if let Some(lang) = pid
            .rep(15)
            .and_then(|r| codeable(&r, Some(&v2_table("0296"))))
        {
            p.insert("communication".into(), json!([{ "language": lang }]));
        }
        // PID-33: when the patient's record was last updated, when precise enough for an instant.
        if let Some(u) = pid.f(33).and_then(|u| t.instant(&u)) {
            p.insert("meta".into(), json!({ "lastUpdated": u }));
        }
        // PID-21 (and PID-6): the mother, as a RelatedPerson linked from the Patient.
        let mother = self.mother(&pid, &id);
        if let Some(m) = &mother {
            p.insert(
                "link".into(),
                json!([{ "other": reference(&m.0), "type": "seealso" }]),
            );
        }
        let patient = self.add("Patient", id, p);
        if let Some((mid, m)) = mother {
            self.add("RelatedPerson", mid, m);
        }
        // PD1-4: the primary care provider (added after the Patient, which stays the first entry).
        if self.msg.segment("PD1", 1).is_some() {
            let pd1 = self.seg("PD1", 1);
            for r in pd1.reps(4) {
                if let Some(gp) = self.practitioner(&r) {
                    self.push_to(&patient, "generalPractitioner", reference(&gp));
                }
            }
        }
        Ok(Some(patient))
    }

    /// PID-21 (mother's identifiers) with PID-6 (mother's maiden name) as the mother's RelatedPerson
    /// (relationship `MTH`), after the IG's CX[RelatedPerson-Mother]: its id and resource.
    fn mother(&self, pid: &Seg<'_>, patient: &str) -> Option<(String, JsonMap<String, Json>)> {
        let identifiers: Vec<Json> = pid
            .reps(21)
            .iter()
            .filter_map(|r| identifier(r, &self.opts.time))
            .collect();
        if identifiers.is_empty() {
            return None;
        }
        let mut m = JsonMap::new();
        m.insert("identifier".into(), Json::Array(identifiers));
        m.insert("patient".into(), reference(patient));
        m.insert(
            "relationship".into(),
            json!([concept(ROLE_CODE, "MTH", Some("mother"))]),
        );
        let names: Vec<Json> = pid
            .reps(6)
            .iter()
            .filter_map(|r| human_name(r, 1, None))
            .map(|mut n| {
                n["use"] = json!("maiden");
                n
            })
            .collect();
        if !names.is_empty() {
            m.insert("name".into(), Json::Array(names));
        }
        Some((uuid_of(&format!("RelatedPerson|MTH|{patient}")), m))
    }

    fn encounter(&mut self, patient: &str, event: &str) -> Result<Option<String>, Unmappable> {
        if self.msg.segment("PV1", 1).is_none() {
            return Ok(None);
        }
        let pv1 = self.seg("PV1", 1);
        let opts = self.opts;
        let t = &opts.time;
        let visit = pv1.rep(19).and_then(|r| r.c(1));
        let id = match &visit {
            Some(v) => uuid_of(&format!("Encounter|{patient}|{v}")),
            None => self.id_for("Encounter", "PV1"),
        };
        let mut e = JsonMap::new();
        if let Some(v) = pv1.rep(19).and_then(|r| identifier(&r, t)) {
            e.insert("identifier".into(), Json::Array(vec![v]));
        }
        let discharged = pv1.f(45).and_then(|d| t.date_time(&d));
        let status = match event {
            "A03" => "finished",
            "A05" | "A14" => "planned",
            "A11" | "A27" | "A38" => "cancelled",
            _ if discharged.is_some() => "finished",
            _ => "in-progress",
        };
        e.insert("status".into(), json!(status));
        let class = pv1.f(2).and_then(|c| match c.as_str() {
            "E" => Some(("EMER", "emergency")),
            "I" | "B" => Some(("IMP", "inpatient encounter")),
            "O" | "R" | "C" => Some(("AMB", "ambulatory")),
            "P" => Some(("PRENC", "pre-admission")),
            _ => None,
        });
        let class = match class {
            Some((code, display)) => json!({"system": ACT_CODE, "code": code, "display": display}),
            None => {
                self.unmappable("PV1-2: patient class not in table 0004".into())?;
                json!({
                    "system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor",
                    "code": "UNK",
                    "display": "unknown"
                })
            }
        };
        e.insert("class".into(), class);
        e.insert("subject".into(), reference(patient));
        if let Some(p) = period(pv1.f(44).and_then(|d| t.date_time(&d)), discharged) {
            e.insert("period".into(), p);
        }
        let mut participants = Vec::new();
        for (field, code, display) in [
            (7, "ATND", "attender"),
            (8, "REF", "referrer"),
            (9, "CON", "consultant"),
            (17, "ADM", "admitter"),
        ] {
            for rep in pv1.reps(field) {
                if let Some(pr) = self.practitioner(&rep) {
                    let mut p = JsonMap::with_capacity(2);
                    p.insert(
                        "type".into(),
                        Json::Array(vec![concept(PARTICIPATION, code, Some(display))]),
                    );
                    p.insert("individual".into(), reference(&pr));
                    participants.push(Json::Object(p));
                }
            }
        }
        if !participants.is_empty() {
            e.insert("participant".into(), Json::Array(participants));
        }
        if let Some(location) = pv1.rep(3).and_then(|loc| self.location(&loc)) {
            e.insert("location".into(), json!([{ "location": location }]));
        }
        let mut hosp = JsonMap::new();
        if let Some(src) = pv1
            .rep(14)
            .and_then(|r| codeable(&r, Some(&v2_table("0023"))))
        {
            hosp.insert("admitSource".into(), src);
        }
        if let Some(d) = pv1
            .rep(36)
            .and_then(|r| codeable(&r, Some(&v2_table("0112"))))
        {
            hosp.insert("dischargeDisposition".into(), d);
        }
        if !hosp.is_empty() {
            e.insert("hospitalization".into(), Json::Object(hosp));
        }
        if self.msg.segment("PV2", 1).is_some() {
            let pv2 = self.seg("PV2", 1);
            if let Some(reason) = pv2.rep(3).and_then(|r| codeable(&r, None)) {
                e.insert("reasonCode".into(), Json::Array(vec![reason]));
            }
        }
        Ok(Some(self.add("Encounter", id, e)))
    }

    /// PL (assigned patient location) -> a Location for its most specific level (bed, room or point
    /// of care), identified by facility and names so a bed is one resource across messages. Returns
    /// the reference to it.
    fn location(&mut self, loc: &Rep<'_>) -> Option<Json> {
        // Components may be HDs (namespace&id&type): their first subcomponent is the name.
        let (point_of_care, room, bed) = (loc.s(1, 1), loc.s(2, 1), loc.s(3, 1));
        let facility = loc.s(4, 1).unwrap_or_default();
        let names: Vec<String> = [&point_of_care, &room, &bed]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        if names.is_empty() {
            return None;
        }
        let (code, display) = match (&bed, &room) {
            (Some(_), _) => ("bd", "Bed"),
            (None, Some(_)) => ("ro", "Room"),
            (None, None) => ("wa", "Ward"),
        };
        let name = names.join(" ");
        let mut l = JsonMap::new();
        l.insert("status".into(), json!("active"));
        l.insert("name".into(), json!(name));
        l.insert("mode".into(), json!("instance"));
        l.insert(
            "physicalType".into(),
            concept(
                "http://terminology.hl7.org/CodeSystem/location-physical-type",
                code,
                Some(display),
            ),
        );
        let id = uuid_of(&format!("Location|{facility}|{}", names.join("|")));
        let id = self.add("Location", id, l);
        let mut r = reference(&id);
        r["display"] = json!(name);
        Some(r)
    }

    fn related_person(&mut self, occ: usize, patient: &str) {
        let nk1 = self.seg("NK1", occ);
        let mut r = JsonMap::new();
        r.insert("patient".into(), reference(patient));
        if let Some(rel) = nk1
            .rep(3)
            .and_then(|x| codeable(&x, Some(&v2_table("0063"))))
        {
            r.insert("relationship".into(), Json::Array(vec![rel]));
        }
        let names: Vec<Json> = nk1
            .reps(2)
            .iter()
            .filter_map(|x| human_name(x, 1, Some(7)))
            .collect();
        if !names.is_empty() {
            r.insert("name".into(), Json::Array(names));
        }
        let mut telecom: Vec<Json> = nk1
            .reps(5)
            .iter()
            .filter_map(|x| contact_point(x, Some("home")))
            .collect();
        telecom.extend(
            nk1.reps(6)
                .iter()
                .filter_map(|x| contact_point(x, Some("work"))),
        );
        if !telecom.is_empty() {
            r.insert("telecom".into(), Json::Array(telecom));
        }
        let addresses: Vec<Json> = nk1.reps(4).iter().filter_map(address).collect();
        if !addresses.is_empty() {
            r.insert("address".into(), Json::Array(addresses));
        }
        let id = self.id_for("RelatedPerson", &occ.to_string());
        self.add("RelatedPerson", id, r);
    }

    /// An HD (MSH-4, MSH-6) as an Organization: named by its namespace, identified by its universal
    /// id; the same facility is the same resource in every message. None for an empty HD.
    fn facility(&mut self, hd: Option<Rep<'a>>) -> Option<String> {
        let hd = hd?;
        let name = hd.c(1);
        let uid = hd_uri(&hd);
        if name.is_none() && uid.is_none() {
            return None;
        }
        let mut org = JsonMap::new();
        if let Some(u) = &uid {
            org.insert(
                "identifier".into(),
                json!([{ "system": "urn:ietf:rfc:3986", "value": u }]),
            );
        }
        if let Some(n) = &name {
            org.insert("name".into(), json!(n));
        }
        let key = uid.or(name).unwrap_or_default();
        Some(self.add("Organization", uuid_of(&format!("Organization|{key}")), org))
    }

    /// MSH as the IG's MessageHeader: the event (MSH-9.2), the source application (MSH-3) and
    /// facility (MSH-4), the destination (MSH-5, MSH-6), the language (MSH-19), and the Patient as
    /// its focus.
    fn message_header(&mut self, patient: &str) -> String {
        let msh = self.seg("MSH", 1);
        let mut h = JsonMap::new();
        if let Some(event) = msh.c(9, 2) {
            h.insert(
                "eventCoding".into(),
                json!({ "system": v2_table("0003"), "code": event }),
            );
        } else {
            h.insert(
                "eventUri".into(),
                json!("http://terminology.hl7.org/CodeSystem/v2-0003"),
            );
        }
        h.insert("source".into(), endpoint_of(msh.rep(3)));
        let mut destination = endpoint_of(msh.rep(5));
        if let Some(receiver) = self.facility(msh.rep(6)) {
            destination["receiver"] = reference(&receiver);
        }
        h.insert("destination".into(), json!([destination]));
        if let Some(sender) = self.facility(msh.rep(4)) {
            h.insert("sender".into(), reference(&sender));
        }
        h.insert("focus".into(), json!([reference(patient)]));
        if let Some(lang) = msh.c(19, 1).or_else(|| msh.f(19)) {
            h.insert("language".into(), json!(lang));
        }
        let id = self.id_for("MessageHeader", "MSH");
        self.add("MessageHeader", id, h)
    }

    /// The conversion's Provenance, after the IG's MSH[Provenance-Source] and
    /// MSH[Provenance-Transformation]: every resource of the Bundle as its target, recorded at the
    /// message's time (MSH-7; the conversion is a function of the message, so a replay gives the
    /// same resource), the converter as assembler, the sending facility as author, and the message
    /// (MSH-10) as its source entity. Left out (and noted) when MSH-7 has no time of day and offset.
    fn provenance(&mut self, header: &str) {
        let msh = self.seg("MSH", 1);
        // An instant: MSH-7 to the minute or finer, with an offset (missing seconds read as :00).
        let Some(recorded) = msh
            .f(7)
            .and_then(|t| self.opts.time.date_time(&t))
            .filter(|t| t.contains('T'))
        else {
            self.skipped
                .push("MSH-7: no time of day with an offset: no Provenance (recorded)".into());
            return;
        };
        let targets: Vec<Json> = self.entries.iter().map(|(id, _)| reference(id)).collect();
        let mut agents = vec![json!({
            "type": concept(PARTICIPANT_TYPE, "assembler", None),
            "who": { "display": "connect-rs HL7ToFHIR" }
        })];
        if let Some(sender) = self.facility(msh.rep(4)) {
            agents.push(json!({
                "type": concept(PARTICIPANT_TYPE, "author", None),
                "who": reference(&sender)
            }));
        }
        let message_type = msh.f(9).unwrap_or_default();
        let mut source = json!({ "display": format!("HL7 v2 message {message_type}") });
        if let Some(control) = msh.f(10) {
            source["identifier"] = json!({ "value": control });
        }
        let mut p = JsonMap::new();
        p.insert("target".into(), Json::Array(targets));
        p.insert("occurredDateTime".into(), json!(recorded));
        p.insert("recorded".into(), json!(recorded));
        p.insert(
            "activity".into(),
            json!({
                "coding": [{
                    "system": "http://hl7.org/fhir/uv/v2mappings/CodeSystem/provenance-activity-type-v2-to-fhir",
                    "code": "v2-fhir-transformation"
                }],
                "text": format!("message - {message_type}")
            }),
        );
        p.insert("agent".into(), Json::Array(agents));
        p.insert(
            "entity".into(),
            json!([
                { "role": "source", "what": source },
                { "role": "derivation", "what": reference(header) }
            ]),
        );
        let id = self.id_for("Provenance", "MSH");
        self.add("Provenance", id, p);
    }

    /// A patient merge: the record MRG-1 names becomes an inactive Patient (the same id a message
    /// about it made, from its first identifier) that is `replaced-by` the surviving one, which
    /// `replaces` it, as FHIR's Patient.link records a merge.
    fn merge(&mut self, occ: usize, surviving: &str) -> Result<(), Unmappable> {
        let mrg = self.seg("MRG", occ);
        let reps = mrg.reps(1);
        let identifiers: Vec<Json> = reps
            .iter()
            .filter_map(|r| identifier(r, &self.opts.time))
            .collect();
        let Some(first) = reps.first().filter(|_| !identifiers.is_empty()) else {
            return self.unmappable(format!(
                "MRG({occ})-1: no prior patient identifier, so the merged record is unknown"
            ));
        };
        let old = uuid_of(&format!(
            "Patient|{}|{}",
            first.c(4).unwrap_or_default(),
            first.c(1).unwrap_or_default()
        ));
        if old == surviving {
            return self.unmappable(format!(
                "MRG({occ})-1: the merged record is the surviving patient"
            ));
        }
        let mut p = JsonMap::new();
        p.insert("identifier".into(), Json::Array(identifiers));
        p.insert("active".into(), json!(false));
        p.insert(
            "link".into(),
            json!([{ "other": reference(surviving), "type": "replaced-by" }]),
        );
        self.add("Patient", old.clone(), p);
        self.push_to(
            surviving,
            "link",
            json!({ "other": reference(&old), "type": "replaces" }),
        );
        Ok(())
    }

    /// IAM (ADT^A60) as the IG's AllergyIntolerance: allergen (IAM-3, with IAM-27's coding), type
    /// and severity, the allergy's own identifier (IAM-7, which also keeps its id across updates),
    /// onset (IAM-11/12), reported date and reporter (IAM-13/14/15), and the verification status
    /// from table 0438 (IAM-17). Returns the resource's id, for the IAR segments after it.
    fn iam(&mut self, occ: usize, patient: &str) -> Result<Option<String>, Unmappable> {
        let iam = self.seg("IAM", occ);
        let Some(mut code) = iam.rep(3).and_then(|r| codeable(&r, None)) else {
            self.unmappable(format!("IAM({occ})-3: no allergen code"))?;
            return Ok(None);
        };
        if let Some(extra) = iam
            .rep(27)
            .and_then(|r| codeable(&r, None))
            .and_then(|c| c.get("coding").cloned())
        {
            if let (Some(Json::Array(codings)), Json::Array(more)) = (code.get_mut("coding"), extra)
            {
                codings.extend(more);
            }
        }
        let mut a = JsonMap::new();
        // Table 0323 action D removes the allergy from the patient's list.
        let removed = iam.c(6, 1).is_some_and(|c| c == "D");
        let verification = match iam.c(17, 1).as_deref() {
            Some("C") => Some("confirmed"),
            Some("U" | "P" | "S" | "D") => Some("unconfirmed"),
            Some("E") => Some("entered-in-error"),
            _ => None,
        };
        if verification != Some("entered-in-error") {
            a.insert(
                "clinicalStatus".into(),
                concept(
                    "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    if removed { "inactive" } else { "active" },
                    None,
                ),
            );
        }
        if let Some(v) = verification {
            a.insert(
                "verificationStatus".into(),
                concept(
                    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                    v,
                    None,
                ),
            );
        }
        allergy_category_and_criticality(&iam, &mut a);
        a.insert("code".into(), code);
        a.insert("patient".into(), reference(patient));
        let ident = iam.rep(7).and_then(|r| {
            let value = r.c(1)?;
            let mut id = json!({ "value": value });
            if let (Some(oid), Some("ISO")) = (r.c(3), r.c(4).as_deref()) {
                id["system"] = json!(format!("urn:oid:{oid}"));
            }
            Some(id)
        });
        let t = &self.opts.time;
        match iam.f(11).and_then(|d| t.date_time(&d)) {
            Some(d) => {
                a.insert("onsetDateTime".into(), json!(d));
            }
            None => {
                if let Some(text) = iam.f(12) {
                    a.insert("onsetString".into(), json!(text));
                }
            }
        }
        if let Some(d) = iam.f(13).and_then(|d| t.date_time(&d)) {
            a.insert("recordedDate".into(), json!(d));
        }
        let reporter = iam.rep(14).and_then(|r| human_name(&r, 1, Some(7)));
        let relation = iam.rep(15);
        let recorder = match (reporter, relation) {
            (_, Some(rel)) if rel.c(1).as_deref() == Some("SEL") => Some(patient.to_owned()),
            (Some(name), Some(rel)) => {
                let mut r = JsonMap::new();
                r.insert("patient".into(), reference(patient));
                if let Some(c) = codeable(&rel, Some(&v2_table("0063"))) {
                    r.insert("relationship".into(), json!([c]));
                }
                r.insert("name".into(), json!([name]));
                let id = self.id_for("RelatedPerson", &format!("IAM{occ}"));
                Some(self.add("RelatedPerson", id, r))
            }
            (Some(name), None) => {
                let id = self.id_for("Practitioner", &format!("IAM{occ}"));
                Some(self.add(
                    "Practitioner",
                    id,
                    JsonMap::from_iter([("name".to_owned(), json!([name]))]),
                ))
            }
            (None, _) => None,
        };
        if let Some(r) = recorder {
            a.insert("recorder".into(), reference(&r));
        }
        if let Some(reaction) = iam.f(5) {
            a.insert(
                "reaction".into(),
                json!([{ "manifestation": [{ "text": reaction }] }]),
            );
        }
        let id = match &ident {
            Some(i) => uuid_of(&format!(
                "AllergyIntolerance|{patient}|{}",
                i["value"].as_str().unwrap_or_default()
            )),
            None => self.id_for("AllergyIntolerance", &format!("IAM{occ}")),
        };
        if let Some(i) = ident {
            a.insert("identifier".into(), json!([i]));
        }
        Ok(Some(self.add("AllergyIntolerance", id, a)))
    }

    /// SCH (SIU) as the IG's Appointment: placer and filler ids (SCH-1, SCH-2, the filler's or
    /// else the placer's fixing the id, so S13-S15 update the S12's resource), status (SCH-25,
    /// table 0278, else the trigger event), reason (SCH-7), type (SCH-8), duration (SCH-9 in
    /// minutes), start and end (TQ1-7/8, else SCH-11.4/5), services (AIS-3), and as participants the
    /// Patient, the placer and filler contacts (SCH-12, SCH-16), the resources' personnel (AIP-3) and
    /// locations (AIL-3).
    fn appointment(&mut self, patient: &str, event: &str) -> Result<(), Unmappable> {
        let sch = self.seg("SCH", 1);
        let t = &self.opts.time;
        let mut a = JsonMap::new();
        let mut ids = Vec::new();
        for (field, ty) in [(1, "PLAC"), (2, "FILL")] {
            if let Some(v) = sch.c(field, 1).or_else(|| sch.f(field)) {
                ids.push(json!({ "type": concept(IDENTIFIER_TYPE, ty, None), "value": v }));
            }
        }
        let key = ids
            .last()
            .and_then(|i| i["value"].as_str())
            .map(str::to_owned);
        let filler_status = sch.c(25, 1).or_else(|| {
            // Resource segments carry the filler status too (AIS-10, AIL-12, AIP-12).
            self.msg
                .segment("AIS", 1)
                .and_then(|_| self.seg("AIS", 1).c(10, 1))
        });
        let status = match filler_status
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("pending") => "pending",
            Some("waitlist") => "waitlist",
            Some("booked" | "overbook" | "blocked") => "booked",
            Some("started") => "arrived",
            Some("complete") => "fulfilled",
            Some("cancelled" | "dc") => "cancelled",
            Some("deleted") => "entered-in-error",
            Some("noshow") => "noshow",
            _ => match event {
                "S15" | "S16" => "cancelled",
                "S17" | "S18" | "S19" => "entered-in-error",
                "S26" => "noshow",
                _ => "booked",
            },
        };
        if !ids.is_empty() {
            a.insert("identifier".into(), Json::Array(ids));
        }
        a.insert("status".into(), json!(status));
        let services: Vec<Json> = (1..)
            .map_while(|occ| self.msg.segment("AIS", occ).map(|_| occ))
            .filter_map(|occ| self.seg("AIS", occ).rep(3).and_then(|r| codeable(&r, None)))
            .collect();
        if !services.is_empty() {
            a.insert("serviceType".into(), Json::Array(services));
        }
        if let Some(ty) = sch
            .rep(8)
            .and_then(|r| codeable(&r, Some(&v2_table("0277"))))
        {
            a.insert("appointmentType".into(), ty);
        }
        if let Some(reason) = sch
            .rep(7)
            .and_then(|r| codeable(&r, Some(&v2_table("0276"))))
        {
            a.insert("reasonCode".into(), json!([reason]));
        }
        let instant =
            |v: Option<String>| v.and_then(|v| t.date_time(&v)).filter(|d| d.contains('T'));
        let tq1 = self.seg("TQ1", 1);
        let start = instant(tq1.f(7)).or_else(|| instant(sch.c(11, 4)));
        let end = instant(tq1.f(8)).or_else(|| instant(sch.c(11, 5)));
        if let Some(st) = start {
            a.insert("start".into(), json!(st));
        }
        if let Some(en) = end {
            a.insert("end".into(), json!(en));
        }
        let minutes = sch
            .f(9)
            .and_then(|n| n.trim().parse::<u32>().ok())
            .filter(|&n| n > 0)
            .filter(|_| {
                sch.c(10, 1).is_some_and(|u| {
                    matches!(u.to_ascii_lowercase().as_str(), "min" | "m" | "minutes")
                })
            });
        if let Some(m) = minutes {
            a.insert("minutesDuration".into(), json!(m));
        }
        let participant_status = if status == "cancelled" {
            "declined"
        } else {
            "accepted"
        };
        let mut participants =
            vec![json!({ "actor": reference(patient), "status": participant_status })];
        for (field, role) in [(12, "placer contact"), (16, "filler contact")] {
            if let Some(p) = sch.rep(field).and_then(|r| self.practitioner(&r)) {
                participants.push(json!({
                    "type": [{ "text": role }],
                    "actor": reference(&p),
                    "status": participant_status
                }));
            }
        }
        for occ in (1..).map_while(|o| self.msg.segment("AIP", o).map(|_| o)) {
            let aip = self.seg("AIP", occ);
            if let Some(p) = aip.rep(3).and_then(|r| self.practitioner(&r)) {
                let mut part = json!({ "actor": reference(&p), "status": participant_status });
                if let Some(role) = aip.rep(4).and_then(|r| codeable(&r, None)) {
                    part["type"] = json!([role]);
                }
                participants.push(part);
            }
        }
        for occ in (1..).map_while(|o| self.msg.segment("AIL", o).map(|_| o)) {
            let ail = self.seg("AIL", occ);
            if let Some(l) = ail.rep(3).and_then(|r| self.location(&r)) {
                participants.push(json!({ "actor": l, "status": participant_status }));
            }
        }
        a.insert("participant".into(), Json::Array(participants));
        let id = match key {
            Some(k) => uuid_of(&format!("Appointment|{patient}|{k}")),
            None => self.id_for("Appointment", "SCH"),
        };
        self.add("Appointment", id, a);
        Ok(())
    }

    /// MDM's TXA and OBX as the IG's DocumentReference: type (TXA-2), status (TXA-19), docStatus
    /// (TXA-17, table 0271), masterIdentifier (TXA-12), identifier (TXA-16), date (TXA-6), author
    /// (TXA-9), authenticator (TXA-10), description (TXA-25), and the content: each OBX's ED as an
    /// attachment of its MIME type, the TX/FT/ST lines as one `text/plain` attachment. Left out
    /// (and noted) when there is no content and TXA-3 names no presentation.
    fn document(&mut self, patient: &str, encounter: Option<&str>) -> Result<(), Unmappable> {
        use base64::Engine;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let txa = self.seg("TXA", 1);
        let mut contents: Vec<Json> = Vec::new();
        let mut text_lines: Vec<String> = Vec::new();
        for occ in (1..).map_while(|o| self.msg.segment("OBX", o).map(|_| o)) {
            let obx = self.seg("OBX", occ);
            match obx.f(2).as_deref() {
                Some("ED") => {
                    let Some(ed) = obx.rep(5) else { continue };
                    let mut att = JsonMap::new();
                    if let (Some(ty), Some(sub)) = (ed.c(2), ed.c(3)) {
                        att.insert(
                            "contentType".into(),
                            json!(format!("{ty}/{sub}").to_ascii_lowercase()),
                        );
                    }
                    if let Some(data) = ed.c(5) {
                        let encoded = match ed.c(4).as_deref().map(str::to_ascii_uppercase) {
                            Some(e) if e == "BASE64" => data,
                            _ => b64(data.as_bytes()),
                        };
                        att.insert("data".into(), json!(encoded));
                    }
                    if let Some(title) = obx.rep(3).and_then(|r| r.c(2)) {
                        att.insert("title".into(), json!(title));
                    }
                    // R4: data needs its contentType.
                    if att.contains_key("data") && !att.contains_key("contentType") {
                        att.insert("contentType".into(), json!("application/octet-stream"));
                    }
                    if !att.is_empty() {
                        contents.push(json!({ "attachment": att }));
                    }
                }
                Some("TX" | "FT" | "ST") => {
                    text_lines.extend(obx.reps(5).iter().filter_map(|r| r.whole()));
                }
                _ => {}
            }
        }
        if !text_lines.is_empty() {
            contents.push(json!({ "attachment": {
                "contentType": "text/plain",
                "data": b64(text_lines.join("\n").as_bytes())
            } }));
        }
        if contents.is_empty() {
            match txa.f(3).as_deref() {
                Some("TX" | "FT") => {
                    contents.push(json!({ "attachment": { "contentType": "text/plain" } }))
                }
                _ => {
                    return self.unmappable(
                        "TXA: no document content (OBX ED or text) and no presentation (TXA-3)"
                            .into(),
                    )
                }
            }
        }
        let mut d = JsonMap::new();
        if let Some(master) = txa.rep(12).and_then(|r| {
            let mut i = json!({ "value": r.c(1)? });
            if let (Some(oid), Some("ISO")) = (r.c(3), r.c(4).as_deref()) {
                i["system"] = json!(format!("urn:oid:{oid}"));
            }
            Some(i)
        }) {
            d.insert("masterIdentifier".into(), master);
        }
        if let Some(file) = txa.f(16) {
            d.insert("identifier".into(), json!([{ "value": file }]));
        }
        let status = match txa.f(19).as_deref() {
            Some("OB") => "superseded",
            Some("CA") => "entered-in-error",
            _ => "current",
        };
        d.insert("status".into(), json!(status));
        let doc_status = match txa.f(17).as_deref() {
            Some("AU" | "LA") => Some("final"),
            Some("DI" | "DO" | "IP" | "IN" | "PA") => Some("preliminary"),
            _ => None,
        };
        if let Some(ds) = doc_status {
            d.insert("docStatus".into(), json!(ds));
        }
        if let Some(ty) = txa
            .rep(2)
            .and_then(|r| codeable(&r, Some(&v2_table("0270"))))
        {
            d.insert("type".into(), ty);
        }
        d.insert("subject".into(), reference(patient));
        if let Some(date) = txa
            .f(6)
            .and_then(|t| self.opts.time.date_time(&t))
            .filter(|t| t.contains('T'))
        {
            d.insert("date".into(), json!(date));
        }
        let authors: Vec<Json> = txa
            .reps(9)
            .iter()
            .filter_map(|r| self.practitioner(r))
            .map(|p| reference(&p))
            .collect();
        if !authors.is_empty() {
            d.insert("author".into(), Json::Array(authors));
        }
        if let Some(a) = txa.rep(10).and_then(|r| self.practitioner(&r)) {
            d.insert("authenticator".into(), reference(&a));
        }
        if let Some(title) = txa.f(25) {
            d.insert("description".into(), json!(title));
        }
        d.insert("content".into(), Json::Array(contents));
        if let Some(e) = encounter {
            d.insert("context".into(), json!({ "encounter": [reference(e)] }));
        }
        let id = match d.get("masterIdentifier").and_then(|m| m["value"].as_str()) {
            Some(v) => uuid_of(&format!("DocumentReference|{v}")),
            None => self.id_for("DocumentReference", "TXA"),
        };
        self.add("DocumentReference", id, d);
        Ok(())
    }

    /// SPM as the IG's Specimen: placer and filler ids (SPM-2), type (SPM-4), collection (method
    /// SPM-7, site SPM-8, time or period SPM-17), received time (SPM-18), availability (SPM-20),
    /// description (SPM-14), condition (SPM-24), container (type SPM-27, additive SPM-6) and
    /// accession id (SPM-30). Returns its id.
    fn specimen(&mut self, occ: usize, patient: &str) -> Result<Option<String>, Unmappable> {
        let spm = self.seg("SPM", occ);
        let Some(kind) = spm
            .rep(4)
            .and_then(|r| codeable(&r, Some(&v2_table("0487"))))
        else {
            self.unmappable(format!("SPM({occ})-4: no specimen type"))?;
            return Ok(None);
        };
        let t = &self.opts.time;
        let mut sp = JsonMap::new();
        // EIP: the placer's EI in component 1, the filler's in component 2 (id in subcomponent 1).
        let mut ids = Vec::new();
        for (comp, ty) in [(1, "PLAC"), (2, "FILL")] {
            if let Some(v) = spm.rep(2).and_then(|r| r.s(comp, 1)) {
                ids.push(json!({ "type": concept(IDENTIFIER_TYPE, ty, None), "value": v }));
            }
        }
        let key = ids
            .first()
            .and_then(|i| i["value"].as_str())
            .map(str::to_owned);
        if !ids.is_empty() {
            sp.insert("identifier".into(), Json::Array(ids));
        }
        if let Some(acc) = spm.rep(30).and_then(|r| identifier(&r, t)) {
            sp.insert("accessionIdentifier".into(), acc);
        }
        match spm.c(20, 1).as_deref() {
            Some("Y") => {
                sp.insert("status".into(), json!("available"));
            }
            Some("N") => {
                sp.insert("status".into(), json!("unavailable"));
            }
            _ => {}
        }
        sp.insert("type".into(), kind);
        sp.insert("subject".into(), reference(patient));
        if let Some(r) = spm.f(18).and_then(|d| t.date_time(&d)) {
            sp.insert("receivedTime".into(), json!(r));
        }
        let mut collection = JsonMap::new();
        let start = spm.c(17, 1).and_then(|d| t.date_time(&d));
        match spm.c(17, 2).and_then(|d| t.date_time(&d)) {
            Some(end) => {
                if let Some(p) = period(start, Some(end)) {
                    collection.insert("collectedPeriod".into(), p);
                }
            }
            None => {
                if let Some(d) = start {
                    collection.insert("collectedDateTime".into(), json!(d));
                }
            }
        }
        if let Some(m) = spm
            .rep(7)
            .and_then(|r| codeable(&r, Some(&v2_table("0488"))))
        {
            collection.insert("method".into(), m);
        }
        if let Some(site) = spm.rep(8).and_then(|r| codeable(&r, None)) {
            collection.insert("bodySite".into(), site);
        }
        if !collection.is_empty() {
            sp.insert("collection".into(), Json::Object(collection));
        }
        let mut container = JsonMap::new();
        if let Some(c) = spm.rep(27).and_then(|r| codeable(&r, None)) {
            container.insert("type".into(), c);
        }
        if let Some(a) = spm
            .rep(6)
            .and_then(|r| codeable(&r, Some(&v2_table("0371"))))
        {
            container.insert("additiveCodeableConcept".into(), a);
        }
        if !container.is_empty() {
            sp.insert("container".into(), json!([container]));
        }
        let conditions: Vec<Json> = spm
            .reps(24)
            .iter()
            .filter_map(|r| codeable(r, Some(&v2_table("0493"))))
            .collect();
        if !conditions.is_empty() {
            sp.insert("condition".into(), Json::Array(conditions));
        }
        let notes: Vec<Json> = spm
            .reps(14)
            .iter()
            .filter_map(|r| r.whole())
            .map(|t| json!({ "text": t }))
            .collect();
        if !notes.is_empty() {
            sp.insert("note".into(), Json::Array(notes));
        }
        let id = match key {
            Some(k) => uuid_of(&format!("Specimen|{patient}|{k}")),
            None => self.id_for("Specimen", &occ.to_string()),
        };
        Ok(Some(self.add("Specimen", id, sp)))
    }

    /// NTE as an Annotation on the resource it follows: the comment (NTE-3, repetitions as lines),
    /// its author (NTE-5, a Practitioner) and time (NTE-6).
    fn note(&mut self, occ: usize, target: &str) {
        let nte = self.seg("NTE", occ);
        let lines: Vec<String> = nte.reps(3).iter().filter_map(|r| r.whole()).collect();
        if lines.is_empty() {
            return;
        }
        let mut note = JsonMap::new();
        if let Some(author) = nte.rep(5).and_then(|r| self.practitioner(&r)) {
            note.insert("authorReference".into(), reference(&author));
        }
        if let Some(t) = nte.f(6).and_then(|t| self.opts.time.date_time(&t)) {
            note.insert("time".into(), json!(t));
        }
        note.insert("text".into(), json!(lines.join("\n")));
        self.push_to(target, "note", Json::Object(note));
    }

    /// IAR (the reactions after an IAM) as a reaction of its AllergyIntolerance: manifestation
    /// (IAR-1) and severity (IAR-2, table 0128).
    fn iar(&mut self, occ: usize, allergy: &str) {
        let iar = self.seg("IAR", occ);
        let Some(manifestation) = iar.rep(1).and_then(|r| codeable(&r, None)) else {
            return;
        };
        let mut reaction = JsonMap::new();
        reaction.insert("manifestation".into(), json!([manifestation]));
        let severity = match iar.c(2, 1).as_deref() {
            Some("MI") => Some("mild"),
            Some("MO") => Some("moderate"),
            Some("SV") => Some("severe"),
            _ => None,
        };
        if let Some(s) = severity {
            reaction.insert("severity".into(), json!(s));
        }
        if let Some(note) = iar.f(4) {
            reaction.insert("note".into(), json!([{ "text": note }]));
        }
        self.push_to(allergy, "reaction", Json::Object(reaction));
    }

    fn allergy(&mut self, occ: usize, patient: &str) -> Result<(), Unmappable> {
        let al1 = self.seg("AL1", occ);
        let Some(code) = al1.rep(3).and_then(|r| codeable(&r, None)) else {
            return self.unmappable(format!("AL1({occ})-3: no allergen code"));
        };
        let mut a = JsonMap::new();
        a.insert(
            "clinicalStatus".into(),
            concept(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                "active",
                Some("Active"),
            ),
        );
        allergy_category_and_criticality(&al1, &mut a);
        a.insert("code".into(), code);
        a.insert("patient".into(), reference(patient));
        if let Some(d) = al1.f(6).and_then(|d| self.opts.time.date_time(&d)) {
            a.insert("onsetDateTime".into(), json!(d));
        }
        let manifestations: Vec<Json> = al1
            .reps(5)
            .iter()
            .filter_map(|r| r.whole())
            .map(|t| json!({ "text": t }))
            .collect();
        if !manifestations.is_empty() {
            a.insert(
                "reaction".into(),
                Json::Array(vec![Json::Object(JsonMap::from_iter([(
                    "manifestation".to_owned(),
                    Json::Array(manifestations),
                )]))]),
            );
        }
        let id = self.id_for("AllergyIntolerance", &occ.to_string());
        self.add("AllergyIntolerance", id, a);
        Ok(())
    }

    fn condition(
        &mut self,
        occ: usize,
        patient: &str,
        encounter: Option<&str>,
    ) -> Result<(), Unmappable> {
        let dg1 = self.seg("DG1", occ);
        let code = dg1
            .rep(3)
            .and_then(|r| codeable(&r, None))
            .or_else(|| dg1.f(4).map(|t| json!({ "text": t })));
        let Some(code) = code else {
            return self.unmappable(format!("DG1({occ})-3: no diagnosis code"));
        };
        let mut c = JsonMap::new();
        c.insert(
            "category".into(),
            json!([concept(
                "http://terminology.hl7.org/CodeSystem/condition-category",
                "encounter-diagnosis",
                Some("Encounter Diagnosis")
            )]),
        );
        c.insert("code".into(), code);
        c.insert("subject".into(), reference(patient));
        if let Some(e) = encounter {
            c.insert("encounter".into(), reference(e));
        }
        if let Some(d) = dg1.f(5).and_then(|d| self.opts.time.date_time(&d)) {
            c.insert("onsetDateTime".into(), json!(d));
        }
        let id = self.id_for("Condition", &occ.to_string());
        self.add("Condition", id, c);
        Ok(())
    }

    fn coverage(&mut self, occ: usize, patient: &str) -> Result<(), Unmappable> {
        let in1 = self.seg("IN1", occ);
        let opts = self.opts;
        let t = &opts.time;
        let company_ids: Vec<Json> = in1
            .reps(3)
            .iter()
            .filter_map(|r| identifier(r, t))
            .collect();
        let company_name = in1.rep(4).and_then(|r| r.c(1).or_else(|| r.whole()));
        if company_ids.is_empty() && company_name.is_none() {
            return self.unmappable(format!(
                "IN1({occ})-3/4: no insurance company (Coverage.payor)"
            ));
        }
        let mut org = JsonMap::new();
        if !company_ids.is_empty() {
            org.insert("identifier".into(), Json::Array(company_ids.clone()));
        }
        if let Some(n) = &company_name {
            org.insert("name".into(), json!(n));
        }
        let org_key = company_ids
            .first()
            .and_then(|i| i.get("value"))
            .and_then(Json::as_str)
            .map(str::to_owned)
            .or(company_name)
            .unwrap_or_default();
        let org_id = self.add(
            "Organization",
            uuid_of(&format!("Organization|{org_key}")),
            org,
        );
        let mut c = JsonMap::new();
        if let Some(policy) = in1.f(36) {
            c.insert("identifier".into(), json!([{ "value": policy }]));
        }
        c.insert("status".into(), json!("active"));
        if let Some(ty) = in1
            .rep(15)
            .and_then(|r| codeable(&r, Some(&v2_table("0086"))))
        {
            c.insert("type".into(), ty);
        }
        if let Some(sub) = in1.rep(49).and_then(|r| r.c(1)) {
            c.insert("subscriberId".into(), json!(sub));
        }
        c.insert("beneficiary".into(), reference(patient));
        if let Some(rel) = in1
            .rep(17)
            .and_then(|r| codeable(&r, Some(&v2_table("0063"))))
        {
            c.insert("relationship".into(), rel);
        }
        if let Some(p) = period(
            in1.f(12).and_then(|d| t.date_time(&d)),
            in1.f(13).and_then(|d| t.date_time(&d)),
        ) {
            c.insert("period".into(), p);
        }
        c.insert("payor".into(), Json::Array(vec![reference(&org_id)]));
        let id = self.id_for("Coverage", &occ.to_string());
        self.add("Coverage", id, c);
        Ok(())
    }

    /// ORC (and the OBR after it, if any) -> ServiceRequest.
    fn service_request(
        &mut self,
        orc: Option<usize>,
        obr: Option<usize>,
        patient: &str,
        encounter: Option<&str>,
    ) -> Result<Option<String>, Unmappable> {
        let orc_s = orc.map(|o| self.seg("ORC", o));
        let obr_s = obr.map(|o| self.seg("OBR", o));
        let code = obr_s
            .and_then(|s| s.rep(4))
            .and_then(|r| codeable(&r, None));
        let opts = self.opts;
        let t = &opts.time;
        let mut sr = JsonMap::new();
        let mut ids = Vec::new();
        let placer = orc_s
            .and_then(|s| s.c(2, 1))
            .or_else(|| obr_s.and_then(|s| s.c(2, 1)));
        let filler = orc_s
            .and_then(|s| s.c(3, 1))
            .or_else(|| obr_s.and_then(|s| s.c(3, 1)));
        for (value, ty) in [(&placer, "PLAC"), (&filler, "FILL")] {
            if let Some(v) = value {
                ids.push(json!({"type": concept(&v2_table("0203"), ty, None), "value": v}));
            }
        }
        if !ids.is_empty() {
            sr.insert("identifier".into(), Json::Array(ids));
        }
        let control = orc_s.and_then(|s| s.f(1)).unwrap_or_default();
        let order_status = orc_s.and_then(|s| s.f(5));
        let status = match (order_status.as_deref(), control.as_str()) {
            (Some("CM"), _) => "completed",
            (Some("CA") | Some("DC"), _) | (_, "CA" | "OC" | "DC") => "revoked",
            (Some("HD"), _) | (_, "HD") => "on-hold",
            (Some("ER"), _) => "entered-in-error",
            _ => "active",
        };
        sr.insert("status".into(), json!(status));
        sr.insert("intent".into(), json!("order"));
        match code {
            Some(c) => {
                sr.insert("code".into(), c);
            }
            None if obr.is_some() => {
                self.unmappable(format!("OBR({})-4: no service code", obr.unwrap_or(0)))?
            }
            None => {}
        }
        sr.insert("subject".into(), reference(patient));
        if let Some(e) = encounter {
            sr.insert("encounter".into(), reference(e));
        }
        if let Some(d) = orc_s.and_then(|s| s.f(9)).and_then(|d| t.date_time(&d)) {
            sr.insert("authoredOn".into(), json!(d));
        }
        let requester = orc_s
            .and_then(|s| s.rep(12))
            .or_else(|| obr_s.and_then(|s| s.rep(16)));
        if let Some(r) = requester {
            if let Some(pr) = self.practitioner(&r) {
                sr.insert("requester".into(), reference(&pr));
            }
        }
        let key = format!(
            "{}|{}|{}",
            placer.clone().unwrap_or_default(),
            filler.clone().unwrap_or_default(),
            obr.or(orc).unwrap_or(0)
        );
        let id = self.id_for("ServiceRequest", &key);
        Ok(Some(self.add("ServiceRequest", id, sr)))
    }

    fn diagnostic_report(
        &mut self,
        obr: usize,
        patient: &str,
        encounter: Option<&str>,
        request: Option<&str>,
        results: &[String],
    ) -> Result<(), Unmappable> {
        let s = self.seg("OBR", obr);
        let Some(code) = s.rep(4).and_then(|r| codeable(&r, None)) else {
            return self.unmappable(format!("OBR({obr})-4: no report code"));
        };
        let opts = self.opts;
        let t = &opts.time;
        let status = match s.f(25).as_deref() {
            Some("F") => "final",
            Some("C") => "corrected",
            Some("P") | Some("R") => "preliminary",
            Some("I") | Some("O") | Some("S") => "registered",
            Some("X") => "cancelled",
            Some("A") => "partial",
            _ => "unknown",
        };
        let mut d = JsonMap::new();
        if let Some(r) = request {
            d.insert("basedOn".into(), Json::Array(vec![reference(r)]));
        }
        d.insert("status".into(), json!(status));
        d.insert("code".into(), code);
        d.insert("subject".into(), reference(patient));
        if let Some(e) = encounter {
            d.insert("encounter".into(), reference(e));
        }
        if let Some(x) = s.f(7).and_then(|x| t.date_time(&x)) {
            d.insert("effectiveDateTime".into(), json!(x));
        }
        if let Some(x) = s.f(22).and_then(|x| t.instant(&x)) {
            d.insert("issued".into(), json!(x));
        }
        if !results.is_empty() {
            d.insert(
                "result".into(),
                Json::Array(results.iter().map(|r| reference(r)).collect()),
            );
        }
        let id = self.id_for("DiagnosticReport", &obr.to_string());
        self.add("DiagnosticReport", id, d);
        Ok(())
    }

    fn observation(
        &mut self,
        occ: usize,
        patient: &str,
        encounter: Option<&str>,
    ) -> Result<Option<String>, Unmappable> {
        let s = self.seg("OBX", occ);
        let Some(code) = s.rep(3).and_then(|r| codeable(&r, None)) else {
            self.unmappable(format!("OBX({occ})-3: no observation code"))?;
            return Ok(None);
        };
        let opts = self.opts;
        let t = &opts.time;
        let status = match s.f(11).as_deref() {
            Some("F") => "final",
            Some("C") => "corrected",
            Some("A") => "amended",
            Some("P") | Some("R") | Some("S") => "preliminary",
            Some("I") | Some("O") => "registered",
            Some("X") | Some("N") => "cancelled",
            Some("D") | Some("W") => "entered-in-error",
            _ => "unknown",
        };
        let mut o = JsonMap::new();
        o.insert("status".into(), json!(status));
        o.insert("code".into(), code);
        o.insert("subject".into(), reference(patient));
        if let Some(e) = encounter {
            o.insert("encounter".into(), reference(e));
        }
        if let Some(x) = s.f(14).and_then(|x| t.date_time(&x)) {
            o.insert("effectiveDateTime".into(), json!(x));
        }
        let value_type = s.f(2).unwrap_or_default();
        let first = s.rep(5);
        let units = s.rep(6);
        if let Some(v) = first {
            let mapped: Option<(&str, Json)> = match value_type.as_str() {
                "NM" => v
                    .whole()
                    .and_then(|x| decimal(&x))
                    .map(|n| ("valueQuantity", quantity(n, units.as_ref()))),
                "ST" | "TX" | "FT" => v.whole().map(|x| ("valueString", json!(x))),
                "CWE" | "CE" | "CNE" | "CF" => {
                    codeable(&v, None).map(|c| ("valueCodeableConcept", c))
                }
                "SN" => structured_numeric(&v, units.as_ref()),
                "DT" => v
                    .whole()
                    .and_then(|x| t.date(&x))
                    .map(|d| ("valueDateTime", json!(d))),
                "TS" | "DTM" => v
                    .whole()
                    .and_then(|x| t.date_time(&x))
                    .map(|d| ("valueDateTime", json!(d))),
                "TM" => v
                    .whole()
                    .and_then(|x| hl7_time(&x))
                    .map(|d| ("valueTime", json!(d))),
                _ => None,
            };
            match mapped {
                Some((k, val)) => {
                    o.insert(k.into(), val);
                }
                None => self.unmappable(format!(
                    "OBX({occ})-5: value of type '{value_type}' not mapped"
                ))?,
            }
        }
        if let Some(range) = s.f(7).and_then(|r| reference_range(&r, units.as_ref())) {
            o.insert("referenceRange".into(), Json::Array(vec![range]));
        }
        let interpretations: Vec<Json> = s
            .reps(8)
            .iter()
            .filter_map(|r| r.c(1).or_else(|| r.whole()))
            .map(|code| {
                concept(
                    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                    &code,
                    None,
                )
            })
            .collect();
        if !interpretations.is_empty() {
            o.insert("interpretation".into(), Json::Array(interpretations));
        }
        let id = self.id_for("Observation", &occ.to_string());
        Ok(Some(self.add("Observation", id, o)))
    }

    fn immunization(
        &mut self,
        occ: usize,
        patient: &str,
        route_seg: Option<usize>,
    ) -> Result<(), Unmappable> {
        let s = self.seg("RXA", occ);
        let opts = self.opts;
        let t = &opts.time;
        let Some(vaccine) = s
            .rep(5)
            .and_then(|r| codeable(&r, Some("http://hl7.org/fhir/sid/cvx")))
        else {
            return self.unmappable(format!("RXA({occ})-5: no vaccine code"));
        };
        let Some(when) = s.f(3).and_then(|x| t.date_time(&x)) else {
            return self.unmappable(format!("RXA({occ})-3: no administration date"));
        };
        let status = match s.f(20).as_deref() {
            Some("RE") | Some("NA") => "not-done",
            _ => "completed",
        };
        let mut i = JsonMap::new();
        i.insert("status".into(), json!(status));
        i.insert("vaccineCode".into(), vaccine);
        i.insert("patient".into(), reference(patient));
        i.insert("occurrenceDateTime".into(), json!(when));
        if let Some(lot) = s.f(15) {
            i.insert("lotNumber".into(), json!(lot));
        }
        if let Some(exp) = s.f(16).and_then(|x| t.date(&x)) {
            if exp.len() == 10 {
                i.insert("expirationDate".into(), json!(exp));
            }
        }
        if let Some(mfr) = s.rep(17).and_then(|r| r.c(2).or_else(|| r.c(1))) {
            i.insert("manufacturer".into(), json!({ "display": mfr }));
        }
        if let Some(amount) = s.f(6).filter(|a| a != "999").and_then(|a| decimal(&a)) {
            i.insert("doseQuantity".into(), quantity(amount, s.rep(7).as_ref()));
        }
        if let Some(r) = route_seg {
            let rxr = self.seg("RXR", r);
            if let Some(route) = rxr
                .rep(1)
                .and_then(|x| codeable(&x, Some(&v2_table("0162"))))
            {
                i.insert("route".into(), route);
            }
            if let Some(site) = rxr
                .rep(2)
                .and_then(|x| codeable(&x, Some(&v2_table("0163"))))
            {
                i.insert("site".into(), site);
            }
        }
        let performers: Vec<Json> = s
            .reps(10)
            .iter()
            .filter_map(|r| self.practitioner(r))
            .map(|p| json!({ "actor": reference(&p) }))
            .collect();
        if !performers.is_empty() {
            i.insert("performer".into(), Json::Array(performers));
        }
        let id = self.id_for("Immunization", &occ.to_string());
        self.add("Immunization", id, i);
        Ok(())
    }
}

/// SN (comparator^num1^separator^num2) -> Quantity with a comparator, Range or Ratio.
fn structured_numeric(v: &Rep<'_>, units: Option<&Rep<'_>>) -> Option<(&'static str, Json)> {
    let comparator = v.c(1);
    let n1 = v.c(2).and_then(|x| decimal(&x));
    let sep = v.c(3);
    let n2 = v.c(4).and_then(|x| decimal(&x));
    match (sep.as_deref(), n1, n2) {
        (Some("-"), Some(a), Some(b)) => Some((
            "valueRange",
            json!({"low": quantity(a, units), "high": quantity(b, units)}),
        )),
        (Some(":") | Some("/"), Some(a), Some(b)) => Some((
            "valueRatio",
            json!({"numerator": quantity(a, None), "denominator": quantity(b, None)}),
        )),
        (None | Some("") | Some("+"), Some(a), None) => {
            let mut q = quantity(a, units);
            if let Some(c) = comparator.filter(|c| ["<", "<=", ">=", ">"].contains(&c.as_str())) {
                q["comparator"] = json!(c);
            }
            Some(("valueQuantity", q))
        }
        _ => None,
    }
}

/// HL7 TM (HH[MM[SS[.S]]]) -> FHIR time (hh:mm:ss).
fn hl7_time(t: &str) -> Option<String> {
    let d = t.split(['+', '-', '.']).next()?;
    if !matches!(d.len(), 2 | 4 | 6) || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!(
        "{}:{}:{}",
        &d[0..2],
        d.get(2..4).unwrap_or("00"),
        d.get(4..6).unwrap_or("00")
    ))
}

/// OBX-7 (`3.5-5.0`, `<200`, `>60`) -> referenceRange (low/high), or its text.
fn reference_range(text: &str, units: Option<&Rep<'_>>) -> Option<Json> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let bound = |s: &str| decimal(s).map(|n| quantity(n, units));
    let range = if let Some(rest) = t.strip_prefix("<=").or_else(|| t.strip_prefix('<')) {
        bound(rest).map(|h| json!({ "high": h }))
    } else if let Some(rest) = t.strip_prefix(">=").or_else(|| t.strip_prefix('>')) {
        bound(rest).map(|l| json!({ "low": l }))
    } else {
        t.rsplit_once('-').and_then(|(lo, hi)| {
            let (lo, hi) = (bound(lo)?, bound(hi)?);
            Some(json!({ "low": lo, "high": hi }))
        })
    };
    Some(range.unwrap_or_else(|| json!({ "text": t })))
}

/// AllergyIntolerance.category from an allergen type (AL1-2, IAM-2; table 0127) and .criticality
/// from a severity (AL1-4, IAM-4; table 0128), where the codes have a FHIR counterpart.
fn allergy_category_and_criticality(seg: &Seg<'_>, a: &mut JsonMap<String, Json>) {
    if let Some(cat) = seg.c(2, 1).or_else(|| seg.f(2)) {
        let category = match cat.as_str() {
            "DA" | "MA" => Some("medication"),
            "FA" => Some("food"),
            "EA" | "LA" | "AA" | "PA" => Some("environment"),
            _ => None,
        };
        if let Some(c) = category {
            a.insert("category".into(), json!([c]));
        }
    }
    if let Some(sev) = seg.c(4, 1).or_else(|| seg.f(4)) {
        let crit = match sev.as_str() {
            "SV" => Some("high"),
            "MO" | "MI" => Some("low"),
            "U" => Some("unable-to-assess"),
            _ => None,
        };
        if let Some(c) = crit {
            a.insert("criticality".into(), json!(c));
        }
    }
}

/// An HD's universal id as a URI: `urn:oid:` for an ISO OID, the value for a URI, `urn:dns:` for a
/// DNS name. None without a universal id of a known type.
fn hd_uri(hd: &Rep<'_>) -> Option<String> {
    let uid = hd.c(2)?;
    match hd.c(3).map(|t| t.to_ascii_uppercase()).as_deref() {
        Some("ISO") => Some(format!("urn:oid:{uid}")),
        Some("URI") => Some(uid),
        Some("DNS") => Some(format!("urn:dns:{uid}")),
        _ => None,
    }
}

/// MessageHeader's `source` or a `destination` from an application HD (MSH-3, MSH-5): its namespace
/// as `name`, and its universal id as `endpoint` when that is a URL (R4's `url` type: an OID or a
/// DNS name is not one). R4 requires the endpoint: without a URL it is marked absent
/// (data-absent-reason `unknown`), as the IG says.
fn endpoint_of(hd: Option<Rep<'_>>) -> Json {
    let mut e = JsonMap::new();
    if let Some(name) = hd.as_ref().and_then(|h| h.c(1)) {
        e.insert("name".into(), json!(name));
    }
    match hd.as_ref().and_then(hd_uri).filter(|u| u.contains("://")) {
        Some(uri) => {
            e.insert("endpoint".into(), json!(uri));
        }
        None => {
            e.insert(
                "_endpoint".into(),
                json!({ "extension": [{
                    "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                    "valueCode": "unknown"
                }] }),
            );
        }
    }
    Json::Object(e)
}

/// The Patient's identifiers in the IG's order: PID-2, every PID-3, PID-4, PID-19 (SSN, type `SS`)
/// and PID-20 (driver's license, type `DL`).
fn patient_identifiers(pid: &Seg<'_>, t: &Time) -> Vec<Json> {
    let mut out: Vec<Json> = Vec::new();
    for field in [2, 3, 4] {
        out.extend(pid.reps(field).iter().filter_map(|r| identifier(r, t)));
    }
    if let Some(ssn) = pid.c(19, 1).or_else(|| pid.f(19)) {
        out.push(json!({
            "type": concept(IDENTIFIER_TYPE, "SS", None),
            "system": "http://hl7.org/fhir/sid/us-ssn",
            "value": ssn
        }));
    }
    // DLN: license number, issuing state, expiration date.
    if let Some(dl) = pid.rep(20) {
        if let Some(number) = dl.c(1) {
            let mut id = JsonMap::new();
            id.insert("type".into(), concept(IDENTIFIER_TYPE, "DL", None));
            id.insert("value".into(), json!(number));
            if let Some(end) = dl.c(3).and_then(|d| t.date(&d)) {
                id.insert("period".into(), json!({ "end": end }));
            }
            out.push(Json::Object(id));
        }
    }
    out
}

/// The Patient's extensions: mother's maiden name (PID-6), religion (PID-17), birth place (PID-23),
/// citizenship (PID-26), nationality (PID-28), and US Core race (PID-10) and ethnicity (PID-22)
/// when their codes are CDC Race & Ethnicity codes (or table 0189's H/N).
fn patient_extensions(pid: &Seg<'_>) -> Vec<Json> {
    let mut ext = Vec::new();
    if let Some(mmn) = pid.rep(6).and_then(|r| r.s(1, 1).or_else(|| r.c(1))) {
        ext.push(json!({ "url": format!("{EXT}patient-mothersMaidenName"), "valueString": mmn }));
    }
    if let Some(r) = pid
        .rep(17)
        .and_then(|r| codeable(&r, Some(&v2_table("0006"))))
    {
        ext.push(json!({ "url": format!("{EXT}patient-religion"), "valueCodeableConcept": r }));
    }
    if let Some(place) = pid.f(23) {
        ext.push(
            json!({ "url": format!("{EXT}patient-birthPlace"), "valueAddress": { "text": place } }),
        );
    }
    for (field, name) in [(26, "patient-citizenship"), (28, "patient-nationality")] {
        for r in pid.reps(field) {
            if let Some(c) = codeable(&r, None) {
                ext.push(json!({
                    "url": format!("{EXT}{name}"),
                    "extension": [{ "url": "code", "valueCodeableConcept": c }]
                }));
            }
        }
    }
    if let Some(e) = us_core_category(pid, 10, "us-core-race", &[]) {
        ext.push(e);
    }
    if let Some(e) = us_core_category(
        pid,
        22,
        "us-core-ethnicity",
        &[
            ("H", "2135-2", "Hispanic or Latino"),
            ("N", "2186-5", "Not Hispanic or Latino"),
        ],
    ) {
        ext.push(e);
    }
    ext
}

/// US Core's race or ethnicity extension from a CWE field: each CDC Race & Ethnicity code (a
/// `NNNN-N` code of CDCREC or the field's HL7 table), or a local code that `aliases` maps, as an
/// `ombCategory` (the OMB's own categories) or `detailed` coding, with the required `text`. None when
/// no repetition carries such a code: other code systems are left to a local extension.
fn us_core_category(
    pid: &Seg<'_>,
    field: usize,
    extension: &str,
    aliases: &[(&str, &str, &str)],
) -> Option<Json> {
    const OMB: [&str; 7] = [
        "1002-5", "2028-9", "2054-5", "2076-8", "2106-3", "2135-2", "2186-5",
    ];
    let mut parts = Vec::new();
    let mut texts = Vec::new();
    for r in pid.reps(field) {
        let Some(code) = r.c(1) else { continue };
        let system = r.c(3).unwrap_or_default().to_ascii_uppercase();
        let cdc_like = code.len() == 6
            && code.as_bytes()[4] == b'-'
            && code
                .bytes()
                .enumerate()
                .all(|(i, b)| i == 4 || b.is_ascii_digit());
        let (code, display) =
            if cdc_like && matches!(system.as_str(), "CDCREC" | "HL70005" | "HL70189" | "") {
                (code, r.c(2))
            } else if let Some((_, c, d)) = aliases.iter().find(|(local, _, _)| *local == code) {
                ((*c).to_owned(), Some((*d).to_owned()))
            } else {
                continue;
            };
        let kind = if OMB.contains(&code.as_str()) {
            "ombCategory"
        } else {
            "detailed"
        };
        let mut coding = json!({ "system": CDC_RACE_ETHNICITY, "code": code });
        if let Some(d) = &display {
            coding["display"] = json!(d);
        }
        texts.push(display.unwrap_or_else(|| code.clone()));
        parts.push(json!({ "url": kind, "valueCoding": coding }));
    }
    if parts.is_empty() {
        return None;
    }
    parts.push(json!({ "url": "text", "valueString": texts.join(", ") }));
    Some(json!({ "url": format!("{US_CORE}{extension}"), "extension": parts }))
}

/// Converts a message to a Bundle (`resourceType`, `id`, `type`, `timestamp`, `entry`). Returns the
/// Bundle and what was skipped under the skip policy.
pub(crate) fn to_bundle(msg: &Message, opts: &Options) -> Result<(Json, Vec<String>), Unmappable> {
    let (ty, event) = msg.message_type().unwrap_or_default();
    let message_key = format!(
        "{}|{}|{}",
        msg.get("MSH-3").unwrap_or_default(),
        msg.get("MSH-4").unwrap_or_default(),
        msg.control_id().unwrap_or_default()
    );
    let mut b = Builder {
        msg,
        opts,
        message_key,
        entries: Vec::new(),
        skipped: Vec::new(),
    };
    let patient = b.patient()?;
    let Some(patient) = patient else {
        return Err(Unmappable(format!(
            "{ty}^{event} has no PID segment: no Patient to refer to"
        )));
    };
    let encounter = b.encounter(&patient, &event)?;
    let enc = encounter.as_deref();
    // Walk the segments in order, keeping the order group (ORC/OBR) the OBX and RXA belong to.
    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut current_orc: Option<usize> = None;
    let mut pending_request: Option<String> = None;
    let mut results: Vec<String> = Vec::new();
    let mut report_obr: Option<usize> = None;
    let names: Vec<String> = msg.segments().map(|s| s.name().to_owned()).collect();
    let mut last_rxa: Option<usize> = None;
    let mut last_iam: Option<String> = None;
    // The resource an NTE annotates: the last ServiceRequest (OBR, or an ORC of its own) or
    // Observation (OBX) made.
    let mut noted: Option<String> = None;
    for (i, name) in names.iter().enumerate() {
        let occ = match counts.iter_mut().find(|(n, _)| n == name) {
            Some((_, c)) => {
                *c += 1;
                *c
            }
            None => {
                counts.push((name.clone(), 1));
                1
            }
        };
        match name.as_str() {
            "NK1" => b.related_person(occ, &patient),
            // A patient merge (A34, A36, A39, A40): MRG names the record merged away.
            "MRG" if matches!(event.as_str(), "A34" | "A36" | "A39" | "A40") => {
                b.merge(occ, &patient)?
            }
            "AL1" => b.allergy(occ, &patient)?,
            "IAM" => last_iam = b.iam(occ, &patient)?,
            "IAR" => {
                if let Some(a) = &last_iam {
                    b.iar(occ, a);
                }
            }
            "DG1" => b.condition(occ, &patient, enc)?,
            "IN1" => b.coverage(occ, &patient)?,
            "ORC" => {
                // A new order group: close the previous report.
                if let Some(obr) = report_obr.take() {
                    b.diagnostic_report(obr, &patient, enc, pending_request.as_deref(), &results)?;
                    results.clear();
                }
                current_orc = Some(occ);
                // An ORC with no OBR after it (VXU, some OML) is a request of its own.
                let next_is_obr = names.get(i + 1).is_some_and(|n| n == "OBR");
                // (VXU's ORC carries the RXA's order data, not a request.)
                pending_request = if next_is_obr || ty == "VXU" {
                    None
                } else {
                    b.service_request(Some(occ), None, &patient, enc)?
                };
                noted = pending_request.clone();
            }
            "OBR" => {
                if let Some(obr) = report_obr.take() {
                    b.diagnostic_report(obr, &patient, enc, pending_request.as_deref(), &results)?;
                    results.clear();
                }
                pending_request = b.service_request(current_orc, Some(occ), &patient, enc)?;
                noted = pending_request.clone();
                // Results (ORU, OUL) make a report of the OBR; orders (ORM, OML) do not.
                if matches!(ty.as_str(), "ORU" | "OUL") {
                    report_obr = Some(occ);
                }
                current_orc = None;
            }
            // A document's OBX are its content (see `document`), not results.
            "OBX" if ty == "MDM" => noted = None,
            "OBX" => {
                noted = None;
                if let Some(o) = b.observation(occ, &patient, enc)? {
                    noted = Some(o.clone());
                    if report_obr.is_some() {
                        results.push(o);
                    }
                }
            }
            // The specimen of the order group: the order names it, and so do the group's results
            // (an Observation has one specimen: the first).
            "SPM" => {
                if let Some(sp) = b.specimen(occ, &patient)? {
                    if let Some(order) = &pending_request {
                        b.push_to(order, "specimen", reference(&sp));
                    }
                    for o in &results {
                        b.set_if_absent(o, "specimen", reference(&sp));
                    }
                }
            }
            // A note on the order (ServiceRequest) or result (Observation) it follows.
            "NTE" => {
                if let Some(target) = &noted {
                    b.note(occ, target);
                }
            }
            "RXA" => {
                if let Some(prev) = last_rxa.take() {
                    b.immunization(prev, &patient, None)?;
                }
                last_rxa = Some(occ);
            }
            "RXR" => {
                if let Some(rxa) = last_rxa.take() {
                    b.immunization(rxa, &patient, Some(occ))?;
                }
            }
            _ => {}
        }
    }
    if let Some(rxa) = last_rxa {
        b.immunization(rxa, &patient, None)?;
    }
    if let Some(obr) = report_obr {
        b.diagnostic_report(obr, &patient, enc, pending_request.as_deref(), &results)?;
    }
    if ty == "MDM" && msg.segment("TXA", 1).is_some() {
        b.document(&patient, enc)?;
    }
    if ty == "SIU" && msg.segment("SCH", 1).is_some() {
        b.appointment(&patient, &event)?;
    }
    let header = b.message_header(&patient);
    b.provenance(&header);
    let bundle_id = uuid_of(&format!("Bundle|{}", b.message_key));
    let mut bundle = JsonMap::new();
    bundle.insert("resourceType".into(), json!("Bundle"));
    bundle.insert("id".into(), json!(bundle_id));
    bundle.insert("type".into(), json!(opts.bundle_type));
    if let Some(ts) = msg.get("MSH-7").and_then(|t| opts.time.instant(&t)) {
        bundle.insert("timestamp".into(), json!(ts));
    }
    let entries: Vec<Json> = b
        .entries
        .into_iter()
        .map(|(id, resource)| {
            let ty = resource["resourceType"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            // Built by hand: `json!` would serialize (deep-copy) the resource it is given.
            let mut entry = JsonMap::with_capacity(3);
            entry.insert("fullUrl".into(), Json::String(format!("urn:uuid:{id}")));
            entry.insert("resource".into(), resource);
            entry.insert(
                "request".into(),
                json!({"method": "PUT", "url": format!("{ty}/{id}")}),
            );
            Json::Object(entry)
        })
        .collect();
    bundle.insert("entry".into(), Json::Array(entries));
    Ok((Json::Object(bundle), b.skipped))
}
