//! The patient and the people around them: PID and PD1 (Patient), the mother (PID-21), NK1
//! (RelatedPerson) and merges (MRG).

use super::*;

const ROLE_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
const CDC_RACE_ETHNICITY: &str = "urn:oid:2.16.840.1.113883.6.238";
const EXT: &str = "http://hl7.org/fhir/StructureDefinition/";
const US_CORE: &str = "http://hl7.org/fhir/us/core/StructureDefinition/";

impl<'a> Builder<'a> {
    pub(super) fn patient(&mut self) -> Result<Option<String>, Unmappable> {
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
            Some(r) => patient_id(r),
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
                    p.insert("gender".into(), Json::from(x));
                }
                None => self.unmappable("PID-8: administrative sex not in table 0001".into())?,
            }
        }
        if let Some(b) = pid.f(7) {
            match t.date(&b) {
                Some(d) => {
                    p.insert("birthDate".into(), Json::from(d));
                }
                None => self.unmappable("PID-7: not an HL7 date".into())?,
            }
        }
        match (pid.f(30).as_deref(), pid.f(29)) {
            (_, Some(ts)) => match t.date_time(&ts) {
                Some(d) => {
                    p.insert("deceasedDateTime".into(), Json::from(d));
                }
                None => self.unmappable("PID-29: not an HL7 date/time".into())?,
            },
            (Some("Y"), None) => {
                p.insert("deceasedBoolean".into(), Json::from(true));
            }
            (Some("N"), None) => {
                p.insert("deceasedBoolean".into(), Json::from(false));
            }
            _ => {}
        }
        let addresses: Vec<Json> = pid.reps(11).iter().filter_map(address).collect();
        if !addresses.is_empty() {
            p.insert("address".into(), Json::Array(addresses));
        }
        if let Some(m) = pid
            .rep(16)
            .and_then(|r| codeable(&r, Some(v2_table("0002"))))
        {
            p.insert("maritalStatus".into(), m);
        }
        match (
            pid.f(25).and_then(|n| n.trim().parse::<i64>().ok()),
            pid.f(24).as_deref(),
        ) {
            (Some(order), _) => {
                p.insert("multipleBirthInteger".into(), Json::from(order));
            }
            (None, Some("Y")) => {
                p.insert("multipleBirthBoolean".into(), Json::from(true));
            }
            (None, Some("N")) => {
                p.insert("multipleBirthBoolean".into(), Json::from(false));
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
            .and_then(|r| codeable(&r, Some(v2_table("0296"))))
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
    pub(super) fn mother(&self, pid: &Seg<'_>, patient: &str) -> Option<(String, JsonMap)> {
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
        Some((uuid_of(format_args!("RelatedPerson|MTH|{patient}")), m))
    }

    /// PID-18 (patient account number) as the IG's Account: identifier, status `active`, the
    /// Patient as subject; one resource per account across messages. Returns its id.
    pub(super) fn account(&mut self, patient: &str) -> Option<String> {
        let pid = self.seg("PID", 1);
        let cx = pid.rep(18)?;
        let ident = identifier(&cx, &self.opts.time)?;
        let mut a = JsonMap::new();
        a.insert("identifier".into(), json!([ident]));
        a.insert("status".into(), json!("active"));
        a.insert("subject".into(), json!([reference(patient)]));
        let id = uuid_of(format_args!(
            "Account|{}|{}",
            cx.c(4).unwrap_or_default(),
            cx.c(1).unwrap_or_default()
        ));
        Some(self.add("Account", id, a))
    }

    /// GT1 as a guarantor of the patient's Account: the Patient itself when the relationship
    /// (GT1-11, table 0063) is `SEL`, else a RelatedPerson with the guarantor's name (GT1-3),
    /// address (GT1-5), phone (GT1-6) and relationship.
    pub(super) fn guarantor(&mut self, occ: usize, patient: &str, account: &str) {
        let gt1 = self.seg("GT1", occ);
        let relation = gt1.rep(11);
        let party = if relation.as_ref().and_then(|r| r.c(1)).as_deref() == Some("SEL") {
            patient.to_owned()
        } else {
            let r = related_person_of(
                &gt1,
                patient,
                PersonFields {
                    relationship: 11,
                    name: 3,
                    address: 5,
                    home_phone: 6,
                    work_phone: 7,
                },
            );
            if !r.contains_key("name") {
                return;
            }
            let id = self.id_for("RelatedPerson", &format!("GT1{occ}"));
            self.add("RelatedPerson", id, r)
        };
        self.push_to(account, "guarantor", json!({ "party": reference(&party) }));
    }

    /// A patient merge: the record MRG-1 names becomes an inactive Patient (the same id a message
    /// about it made, from its first identifier) that is `replaced-by` the surviving one, which
    /// `replaces` it, as FHIR's Patient.link records a merge.
    pub(super) fn merge(&mut self, occ: usize, surviving: &str) -> Result<(), Unmappable> {
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
        let old = patient_id(first);
        if old == surviving {
            return self.unmappable(format!(
                "MRG({occ})-1: the merged record is the surviving patient"
            ));
        }
        let mut p = JsonMap::new();
        p.insert("identifier".into(), Json::Array(identifiers));
        p.insert("active".into(), Json::from(false));
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

    pub(super) fn related_person(&mut self, occ: usize, patient: &str) {
        let nk1 = self.seg("NK1", occ);
        let r = related_person_of(
            &nk1,
            patient,
            PersonFields {
                relationship: 3,
                name: 2,
                address: 4,
                home_phone: 5,
                work_phone: 6,
            },
        );
        let id = self.id_for("RelatedPerson", &occ.to_string());
        self.add("RelatedPerson", id, r);
    }
}

/// Where a segment that names a person (NK1, GT1) keeps each part.
struct PersonFields {
    relationship: usize,
    name: usize,
    address: usize,
    home_phone: usize,
    work_phone: usize,
}

/// A RelatedPerson of the patient from a segment naming a person: relationship (table 0063), names,
/// home and work phones, and addresses.
fn related_person_of(seg: &Seg<'_>, patient: &str, f: PersonFields) -> JsonMap {
    let mut r = JsonMap::new();
    r.insert("patient".into(), reference(patient));
    if let Some(rel) = seg
        .rep(f.relationship)
        .and_then(|x| codeable(&x, Some(v2_table("0063"))))
    {
        r.insert("relationship".into(), Json::Array(vec![rel]));
    }
    let names: Vec<Json> = seg
        .reps(f.name)
        .iter()
        .filter_map(|x| human_name(x, 1, Some(7)))
        .collect();
    if !names.is_empty() {
        r.insert("name".into(), Json::Array(names));
    }
    let mut telecom: Vec<Json> = seg
        .reps(f.home_phone)
        .iter()
        .filter_map(|x| contact_point(x, Some("home")))
        .collect();
    telecom.extend(
        seg.reps(f.work_phone)
            .iter()
            .filter_map(|x| contact_point(x, Some("work"))),
    );
    if !telecom.is_empty() {
        r.insert("telecom".into(), Json::Array(telecom));
    }
    let addresses: Vec<Json> = seg.reps(f.address).iter().filter_map(address).collect();
    if !addresses.is_empty() {
        r.insert("address".into(), Json::Array(addresses));
    }
    r
}

/// The id of the Patient a CX identifies (PID-3's first repetition, MRG-1's): from its value and
/// assigning authority, so every message about that patient names the same resource.
fn patient_id(cx: &Rep<'_>) -> String {
    uuid_of(format_args!(
        "Patient|{}|{}",
        cx.c(4).unwrap_or_default(),
        cx.c(1).unwrap_or_default()
    ))
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
            id.insert("value".into(), Json::from(number));
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
        .and_then(|r| codeable(&r, Some(v2_table("0006"))))
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
        let mut coding = json!({ "system": CDC_RACE_ETHNICITY, "code": code.as_str() });
        if let Some(d) = &display {
            coding["display"] = Json::from(d.as_str());
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
