//! One HL7 v2 message to a FHIR R4 Bundle: segments to resources, after the HL7 v2-to-FHIR IG's
//! segment maps, with deterministic ids and references between the Bundle's entries.
//!
//! This module holds the Bundle being built ([`Builder`]: entries, ids, the resources several maps
//! share such as Practitioner, Location and Organization) and the walk over the segments
//! ([`to_bundle`]); each submodule maps one family of segments.

use super::tree::{Json, JsonMap, Str};
use connect_core::hl7::Message;
use sha2::{Digest, Sha256};

use super::datatypes::{
    address, codeable, concept, contact_point, decimal, human_name, identifier, period, quantity,
    quantity_in, time_of_day, time_or_period, v2_table, Rep, Seg, Time,
};

mod billing;
mod clinical;
mod documents;
mod encounter;
mod message;
mod orders;
mod patient;
mod pharmacy;
mod roles;
mod scheduling;
mod timing;

/// Settings of a conversion.
pub(crate) struct Options {
    pub(crate) bundle_type: &'static str,
    pub(crate) time: Time,
    pub(crate) fail_on_unmappable: bool,
}

/// Why a message or a part of it could not be mapped. Names the segment and field, never content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unmappable(pub(crate) String);

const IDENTIFIER_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";

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
/// The name is hashed as it is formatted, never made into a string.
pub(crate) fn uuid_of(name: std::fmt::Arguments<'_>) -> String {
    struct Hasher(Sha256);
    impl std::fmt::Write for Hasher {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.update(s.as_bytes());
            Ok(())
        }
    }
    let mut hasher = Hasher(Sha256::new());
    // Writing into a hasher cannot fail.
    let _ = std::fmt::write(&mut hasher, name);
    let h = hasher.0.finalize();
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

/// `urn:uuid:<id>`, the form of every fullUrl and reference in the Bundle.
fn urn_uuid(id: &str) -> String {
    let mut s = String::with_capacity(9 + id.len());
    s.push_str("urn:uuid:");
    s.push_str(id);
    s
}

fn reference(id: &str) -> Json {
    let mut r = JsonMap::with_capacity(1);
    r.insert("reference".into(), Json::from(urn_uuid(id)));
    Json::Object(r)
}

impl<'a> Builder<'a> {
    fn seg(&self, name: &str, occurrence: usize) -> Seg<'a> {
        Seg::new(self.msg, name, occurrence)
    }

    /// Adds a resource under `id` (a later resource with the same id merges into nothing: the first
    /// one stays). Returns the id.
    fn add(&mut self, resource_type: &str, id: String, mut resource: JsonMap) -> String {
        if self.has(&id) {
            return id;
        }
        let mut r = JsonMap::with_capacity(resource.len() + 2);
        r.insert("resourceType".into(), Json::from(resource_type));
        r.insert("id".into(), Json::from(id.as_str()));
        r.append(&mut resource);
        self.entries.push((id.clone(), Json::Object(r)));
        id
    }

    /// Whether a resource was added under `id`.
    fn has(&self, id: &str) -> bool {
        self.entries.iter().any(|(i, _)| i == id)
    }

    /// Appends `value` to the array `field` of the resource added under `id` (creating the array).
    fn push_to(&mut self, id: &str, field: &'static str, value: Json) {
        if let Some((_, Json::Object(r))) = self.entries.iter_mut().find(|(i, _)| i == id) {
            match r.get_mut(field) {
                Some(Json::Array(list)) => list.push(value),
                _ => {
                    r.insert(field.into(), Json::Array(vec![value]));
                }
            }
        }
    }

    /// Sets `field` of the resource added under `id`, unless it has one.
    fn set_if_absent(&mut self, id: &str, field: &'static str, value: Json) {
        if let Some((_, Json::Object(r))) = self.entries.iter_mut().find(|(i, _)| i == id) {
            r.or_insert(field.into(), value);
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
        uuid_of(format_args!("{}|{kind}|{key}", self.message_key))
    }

    /// A Practitioner from an XCN (id, name), identified by its id and assigning authority when it has
    /// one, so the same clinician is the same resource in every message.
    fn practitioner(&mut self, rep: &Rep<'_>) -> Option<String> {
        let ident = rep.c(1);
        let id = match &ident {
            Some(i) => {
                let authority = rep.s(9, 1).unwrap_or_default();
                uuid_of(format_args!("Practitioner|{authority}|{i}"))
            }
            None => self.id_for("Practitioner", &rep.whole().unwrap_or_default()),
        };
        // The same clinician again (an attending who also admits): the first resource stands.
        if self.has(&id) {
            return Some(id);
        }
        let name = human_name(rep, 2, None);
        if ident.is_none() && name.is_none() {
            return None;
        }
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

    /// Performers with their function (table 0443: `AP` administering, `OP` ordering provider),
    /// each XCN a Practitioner, in the order given.
    fn performers_with_function(&mut self, providers: &[(&str, Vec<Rep<'_>>)]) -> Vec<Json> {
        let mut performers = Vec::new();
        for (function, reps) in providers {
            for r in reps {
                if let Some(p) = self.practitioner(r) {
                    performers.push(json!({
                        "function": concept(v2_table("0443"), function, None),
                        "actor": reference(&p),
                    }));
                }
            }
        }
        performers
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
        l.insert("name".into(), Json::from(name.as_str()));
        l.insert("mode".into(), json!("instance"));
        l.insert(
            "physicalType".into(),
            concept(
                "http://terminology.hl7.org/CodeSystem/location-physical-type",
                code,
                Some(display),
            ),
        );
        let id = uuid_of(format_args!("Location|{facility}|{}", names.join("|")));
        let id = self.add("Location", id, l);
        let mut r = reference(&id);
        r["display"] = Json::from(name);
        Some(r)
    }

    /// An HD (MSH-4, MSH-6) as an Organization: named by its namespace, identified by its universal
    /// id; the same facility is the same resource in every message. None for an empty HD.
    fn facility(&mut self, hd: Option<Rep<'a>>) -> Option<String> {
        let hd = hd?;
        self.organization(hd.c(1), hd_uri(&hd))
    }

    /// The Organization named `name` and identified by the URI `uid` (an HD's parts), one resource
    /// per authority in every message (keyed by the URI, else the name). None without either.
    fn organization(&mut self, name: Option<String>, uid: Option<String>) -> Option<String> {
        if name.is_none() && uid.is_none() {
            return None;
        }
        let mut org = JsonMap::new();
        if let Some(u) = &uid {
            org.insert(
                "identifier".into(),
                json!([{ "system": "urn:ietf:rfc:3986", "value": u.as_str() }]),
            );
        }
        if let Some(n) = &name {
            org.insert("name".into(), Json::from(n.as_str()));
        }
        let key = uid.or(name).unwrap_or_default();
        Some(self.add(
            "Organization",
            uuid_of(format_args!("Organization|{key}")),
            org,
        ))
    }
}

/// ORC-2 and ORC-3 as the IG's `PLAC` and `FILL` identifiers, with the two numbers.
fn order_identifiers(orc: &Seg<'_>) -> (Vec<Json>, Option<String>, Option<String>) {
    let (placer, filler) = (orc.c(2, 1), orc.c(3, 1));
    let ids = [(&placer, "PLAC"), (&filler, "FILL")]
        .into_iter()
        .filter_map(|(v, ty)| {
            v.as_ref()
                .map(|v| json!({ "type": concept(IDENTIFIER_TYPE, ty, None), "value": v.as_str() }))
        })
        .collect();
    (ids, placer, filler)
}

/// Where an identifier without an assigner reference sits: entry, field, position in the field.
struct AssignerSlot {
    entry: usize,
    field: &'static str,
    index: usize,
    name: String,
    uid: Option<String>,
}

impl Builder<'_> {
    /// The assigning authority of every identifier made so far (CX.4, written as the assigner's
    /// display and the identifier's system) as an Organization, which the assigner then refers to:
    /// the IG's CX.4 -> `assigner(Organization)`. The same authority as a facility (MSH-4) is the same
    /// resource.
    fn assigning_organizations(&mut self) {
        let mut found: Vec<AssignerSlot> = Vec::new();
        for (e, (_, resource)) in self.entries.iter().enumerate() {
            for field in ["identifier", "accessionIdentifier"] {
                let ids: Vec<&Json> = match resource.get(field) {
                    Some(Json::Array(list)) => list.iter().collect(),
                    Some(one @ Json::Object(_)) => vec![one],
                    _ => continue,
                };
                for (n, id) in ids.into_iter().enumerate() {
                    let assigner = &id["assigner"];
                    if assigner.get("reference").is_some() {
                        continue;
                    }
                    let Some(name) = assigner["display"].as_str() else {
                        continue;
                    };
                    // An ISO OID system came from CX.4's universal id; other systems (us-ssn, a
                    // URI) name the identifier's namespace rather than its assigner.
                    let uid = id["system"].as_str().filter(|s| s.starts_with("urn:oid:"));
                    found.push(AssignerSlot {
                        entry: e,
                        field,
                        index: n,
                        name: name.to_owned(),
                        uid: uid.map(str::to_owned),
                    });
                }
            }
        }
        for AssignerSlot {
            entry,
            field,
            index,
            name,
            uid,
        } in found
        {
            let Some(org) = self.organization(Some(name), uid) else {
                continue;
            };
            let slot = match self.entries[entry].1.get_mut(field) {
                Some(Json::Array(list)) => list.get_mut(index),
                Some(one @ Json::Object(_)) => Some(one),
                _ => None,
            };
            if let Some(Json::Object(assigner)) = slot.and_then(|id| id.get_mut("assigner")) {
                assigner.insert("reference".into(), Json::from(urn_uuid(&org)));
            }
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
    let account = b.account(&patient);
    if let (Some(a), Some(e)) = (&account, enc) {
        b.push_to(e, "account", reference(a));
    }
    // Walk the segments in order, keeping the order group (ORC/OBR) the OBX and RXA belong to.
    let mut counts: Vec<(&str, usize)> = Vec::new();
    let mut current_orc: Option<usize> = None;
    let mut pending_request: Option<String> = None;
    let mut results: Vec<String> = Vec::new();
    let mut report_obr: Option<usize> = None;
    let names: Vec<&str> = msg.segments().map(|s| s.name()).collect();
    // The Immunization of the last RXA (its RXR and OBX follow it) and the ServiceRequest of the
    // ORC before it.
    let mut last_immunization: Option<String> = None;
    let mut immunization_request: Option<String> = None;
    let pharmacy = pharmacy::is_pharmacy(&ty);
    let mut pharmacy_order: Option<pharmacy::PharmacyOrder> = None;
    let mut last_iam: Option<String> = None;
    // What a ROL is about (the group it follows), and a TQ1 waiting for its order's ServiceRequest.
    let mut role_of: Option<roles::RoleOf> = None;
    // The Procedure of the last PR1, which the ROL of its group performs.
    let mut procedure: Option<String> = None;
    let mut order_timing: Option<usize> = None;
    // The resource an NTE annotates: the last ServiceRequest (OBR, or an ORC of its own) or
    // Observation (OBX) made.
    let mut noted: Option<String> = None;
    for (i, &name) in names.iter().enumerate() {
        let occ = match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => {
                *c += 1;
                *c
            }
            None => {
                counts.push((name, 1));
                1
            }
        };
        // (Access restrictions and participations sit between a group and its ROL.)
        if !matches!(name, "PID" | "PD1" | "PV1" | "PV2" | "ROL" | "ARV" | "PRT") {
            role_of = None;
        }
        // A pharmacy order group takes its own segments, and the NTE about the order itself.
        if let Some(group) = &mut pharmacy_order {
            let about_order = name == "NTE" && noted.is_none();
            if (name != "NTE" || about_order) && group.take(name, occ) {
                continue;
            }
        }
        match name {
            "PID" | "PD1" => role_of = Some(roles::RoleOf::Patient),
            "PV1" | "PV2" => role_of = Some(roles::RoleOf::Encounter),
            "ROL" => b.role(occ, role_of, &patient, enc, procedure.as_deref()),
            "NK1" => b.related_person(occ, &patient),
            // A patient merge (A34, A36, A39, A40): MRG names the record merged away.
            "MRG" if matches!(event.as_str(), "A34" | "A36" | "A39" | "A40") => {
                b.merge(occ, &patient)?
            }
            "AL1" => b.allergy(occ, &patient)?,
            // A guarantor belongs to the patient's account (PID-18); without one it has no home.
            // (Noted, never failed: the message maps without it.)
            "GT1" => match &account {
                Some(a) => b.guarantor(occ, &patient, a),
                None => b.skipped.push(format!(
                    "GT1({occ}): no patient account (PID-18) to carry the guarantor"
                )),
            },
            "IAM" => last_iam = b.iam(occ, &patient)?,
            "IAR" => {
                if let Some(a) = &last_iam {
                    b.iar(occ, a);
                }
            }
            "DG1" => b.condition(occ, &patient, enc)?,
            "PRB" => b.problem(occ, &patient, enc)?,
            "PR1" => {
                procedure = b.procedure(occ, &patient, enc)?;
                role_of = Some(roles::RoleOf::Procedure);
            }
            // A financial transaction (DFT): its charges.
            "FT1" if ty == "DFT" => b.charge_item(occ, &patient, enc, account.as_deref())?,
            "IN1" => b.coverage(occ, &patient)?,
            "ORC" => {
                // A new order group: close the previous report or pharmacy order.
                if let Some(obr) = report_obr.take() {
                    b.diagnostic_report(obr, &patient, enc, pending_request.as_deref(), &results)?;
                    results.clear();
                }
                if let Some(group) = pharmacy_order.take() {
                    b.pharmacy_order(group, &patient, enc)?;
                }
                noted = None;
                last_immunization = None;
                order_timing = None;
                if pharmacy {
                    pharmacy_order = Some(pharmacy::PharmacyOrder::new(occ));
                    pending_request = None;
                    continue;
                }
                current_orc = Some(occ);
                // An ORC with no OBR after it (VXU, some OML) is a request of its own; in a VXU,
                // the order the immunization fulfils.
                let next_is_obr = names.get(i + 1) == Some(&"OBR");
                pending_request = if next_is_obr {
                    None
                } else {
                    b.service_request(Some(occ), None, &patient, enc)?
                };
                if ty == "VXU" {
                    immunization_request = pending_request.take();
                } else {
                    noted = pending_request.clone();
                }
            }
            // The timing of the order (not of an appointment, which reads its own TQ1): applied to
            // the ServiceRequest now, or when its OBR makes it.
            "TQ1" if ty != "SIU" => {
                match pending_request.as_ref().or(immunization_request.as_ref()) {
                    Some(sr) => b.request_timing(occ, sr),
                    None => order_timing = Some(occ),
                }
            }
            "OBR" => {
                if let Some(obr) = report_obr.take() {
                    b.diagnostic_report(obr, &patient, enc, pending_request.as_deref(), &results)?;
                    results.clear();
                }
                pending_request = b.service_request(current_orc, Some(occ), &patient, enc)?;
                if let (Some(sr), Some(tq1)) = (&pending_request, order_timing.take()) {
                    b.request_timing(tq1, sr);
                }
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
                    } else if let Some(group) = &mut pharmacy_order {
                        group.supporting(o);
                    } else if let Some(imm) = &last_immunization {
                        // An observation about the immunization (funding, VIS documents).
                        b.set_if_absent(&o, "partOf", json!([reference(imm)]));
                    } else if let Some(order) = &pending_request {
                        // An observation sent with an order (ORM, OML): what supports it.
                        b.push_to(order, "supportingInfo", reference(&o));
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
                last_immunization =
                    b.immunization(occ, &patient, current_orc, immunization_request.as_deref())?;
            }
            "RXR" => {
                if let Some(imm) = &last_immunization {
                    b.immunization_route(occ, imm);
                }
            }
            _ => {}
        }
    }
    if let Some(group) = pharmacy_order.take() {
        b.pharmacy_order(group, &patient, enc)?;
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
    if msg.segment("EVN", 1).is_some() {
        b.event_provenance(&patient, enc);
    }
    b.assigning_organizations();
    let header = b.message_header(&patient);
    b.provenance(&header);
    let bundle_id = uuid_of(format_args!("Bundle|{}", b.message_key));
    let mut bundle = JsonMap::new();
    bundle.insert("resourceType".into(), json!("Bundle"));
    bundle.insert("id".into(), Json::from(bundle_id));
    bundle.insert("type".into(), json!(opts.bundle_type));
    if let Some(ts) = msg.get("MSH-7").and_then(|t| opts.time.instant(&t)) {
        bundle.insert("timestamp".into(), Json::from(ts));
    }
    let entries: Vec<Json> = b
        .entries
        .into_iter()
        .map(|(id, resource)| {
            let ty = resource["resourceType"].as_str().unwrap_or_default();
            let mut url = String::with_capacity(ty.len() + 1 + id.len());
            url.push_str(ty);
            url.push('/');
            url.push_str(&id);
            json!({
                "fullUrl": urn_uuid(&id),
                "resource": resource,
                "request": {"method": "PUT", "url": url},
            })
        })
        .collect();
    bundle.insert("entry".into(), Json::Array(entries));
    Ok((Json::Object(bundle), b.skipped))
}
