//! The message itself: MSH as the MessageHeader and the conversion's Provenance.

use super::*;

const PARTICIPANT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/provenance-participant-type";

impl<'a> Builder<'a> {
    /// MSH as the IG's MessageHeader: the event (MSH-9.2), the source application (MSH-3) and
    /// facility (MSH-4), the destination (MSH-5, MSH-6), the language (MSH-19), and the Patient as
    /// its focus.
    pub(super) fn message_header(&mut self, patient: &str) -> String {
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
            h.insert("language".into(), Json::from(lang));
        }
        let id = self.id_for("MessageHeader", "MSH");
        self.add("MessageHeader", id, h)
    }

    /// EVN as the IG's Provenance of the event: the Patient (and Encounter) as targets, recorded at
    /// EVN-2, occurred at EVN-6, the event (MSH-9) as activity, the reason (EVN-4, table 0062) and
    /// the operators (EVN-5) as agents, or the sending facility when EVN names none. Left out (and
    /// noted) without a recorded time of day or any agent.
    pub(super) fn event_provenance(&mut self, patient: &str, encounter: Option<&str>) {
        let evn = self.seg("EVN", 1);
        let t = &self.opts.time;
        let Some(recorded) = evn
            .f(2)
            .and_then(|v| t.date_time(&v))
            .filter(|v| v.contains('T'))
        else {
            self.skipped
                .push("EVN-2: no time of day with an offset: no event Provenance".into());
            return;
        };
        let occurred = evn.f(6).and_then(|v| t.date_time(&v));
        let msh = self.seg("MSH", 1);
        let mut agents: Vec<Json> = evn
            .reps(5)
            .iter()
            .filter_map(|r| self.practitioner(r))
            .map(|p| json!({ "who": reference(&p) }))
            .collect();
        if agents.is_empty() {
            if let Some(sender) = self.facility(msh.rep(4)) {
                agents.push(json!({ "who": reference(&sender) }));
            }
        }
        if agents.is_empty() {
            self.skipped
                .push("EVN-5, MSH-4: no operator or facility: no event Provenance".into());
            return;
        }
        let mut targets = vec![reference(patient)];
        targets.extend(encounter.map(reference));
        let mut p = JsonMap::new();
        p.insert("target".into(), Json::Array(targets));
        if let Some(o) = occurred {
            p.insert("occurredDateTime".into(), Json::from(o));
        }
        p.insert("recorded".into(), Json::from(recorded));
        if let Some(reason) = evn
            .rep(4)
            .filter(|r| r.c(1).as_deref() != Some("U"))
            .and_then(|r| codeable(&r, Some(v2_table("0062"))))
        {
            p.insert("reason".into(), json!([reason]));
        }
        let message_type = format!(
            "{}^{}",
            msh.c(9, 1).unwrap_or_default(),
            msh.c(9, 2).unwrap_or_default()
        );
        let mut activity = json!({ "display": format!("event - {message_type}") });
        if let Some(event) = msh.c(9, 2) {
            activity["system"] = json!(v2_table("0003"));
            activity["code"] = Json::from(event);
        }
        p.insert("activity".into(), json!({ "coding": [activity] }));
        p.insert("agent".into(), Json::Array(agents));
        let id = self.id_for("Provenance", "EVN");
        self.add("Provenance", id, p);
    }

    /// The conversion's Provenance, after the IG's MSH[Provenance-Source] and
    /// MSH[Provenance-Transformation]: every resource of the Bundle as its target, recorded at the
    /// message's time (MSH-7; the conversion is a function of the message, so a replay gives the
    /// same resource), the converter as assembler, the sending facility as author, and the message
    /// (MSH-10) as its source entity. Left out (and noted) when MSH-7 has no time of day and offset.
    pub(super) fn provenance(&mut self, header: &str) {
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
        p.insert("occurredDateTime".into(), Json::from(recorded.as_str()));
        p.insert("recorded".into(), Json::from(recorded));
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
}

/// MessageHeader's `source` or a `destination` from an application HD (MSH-3, MSH-5): its namespace
/// as `name`, and its universal id as `endpoint` when that is a URL (R4's `url` type: an OID or a
/// DNS name is not one). R4 requires the endpoint: without a URL it is marked absent
/// (data-absent-reason `unknown`), as the IG says.
fn endpoint_of(hd: Option<Rep<'_>>) -> Json {
    let mut e = JsonMap::new();
    if let Some(name) = hd.as_ref().and_then(|h| h.c(1)) {
        e.insert("name".into(), Json::from(name));
    }
    match hd.as_ref().and_then(hd_uri).filter(|u| u.contains("://")) {
        Some(uri) => {
            e.insert("endpoint".into(), Json::from(uri));
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
