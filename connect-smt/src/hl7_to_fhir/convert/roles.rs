//! ROL (role) as the IG's PractitionerRole: the patient's primary care provider when the ROL follows
//! PID/PD1, a participant of the visit when it follows PV1/PV2, a performer of the procedure when it
//! follows PR1.

use super::*;

/// What a ROL segment is about: the segment group it follows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum RoleOf {
    /// After PID or PD1: a care provider of the patient.
    Patient,
    /// After PV1 or PV2: a participant of the visit.
    Encounter,
    /// After PR1 (the procedure group): a performer of the procedure.
    Procedure,
}

impl<'a> Builder<'a> {
    /// ROL as a PractitionerRole (identifier ROL-1, code ROL-3 from table 0443, the person ROL-4 as
    /// a Practitioner, period ROL-5/6, specialty ROL-9, telecom ROL-12, location ROL-13,
    /// organization ROL-14), linked from the Patient's `generalPractitioner`, as a participant of
    /// the Encounter (type ROL-3, period) or as a performer of the Procedure (function ROL-3). A ROL
    /// elsewhere (the insurance group's) is left out with a note.
    pub(super) fn role(
        &mut self,
        occ: usize,
        of: Option<RoleOf>,
        patient: &str,
        enc: Option<&str>,
        procedure: Option<&str>,
    ) {
        let rol = self.seg("ROL", occ);
        let target = match (of, enc, procedure) {
            (Some(RoleOf::Patient), _, _) => Some((patient, RoleOf::Patient)),
            (Some(RoleOf::Encounter), Some(e), _) => Some((e, RoleOf::Encounter)),
            (Some(RoleOf::Procedure), _, Some(p)) => Some((p, RoleOf::Procedure)),
            _ => None,
        };
        let Some((target, of)) = target else {
            self.skipped.push(format!(
                "ROL({occ}): not after PID, PD1, PV1, PV2 or PR1, not mapped"
            ));
            return;
        };
        let Some(person) = rol.rep(4).and_then(|r| self.practitioner(&r)) else {
            self.skipped
                .push(format!("ROL({occ})-4: no role person, not mapped"));
            return;
        };
        let t = &self.opts.time;
        let code = rol
            .rep(3)
            .and_then(|r| codeable(&r, Some(v2_table("0443"))));
        let start = rol.f(5).and_then(|d| t.date_time(&d));
        let end = rol.f(6).and_then(|d| t.date_time(&d));
        let span = period(start, end);
        let mut pr = JsonMap::new();
        if let Some(i) = rol.rep(1).and_then(|r| r.c(1)) {
            pr.insert("identifier".into(), json!([{ "value": i }]));
        }
        pr.insert("active".into(), Json::from(true));
        if let Some(p) = &span {
            pr.insert("period".into(), p.clone());
        }
        pr.insert("practitioner".into(), reference(&person));
        // ROL-14: the organization (XON: name, then its id in component 10).
        let org = rol.rep(14).and_then(|r| {
            let name = r.c(1);
            let id = r.c(10).or_else(|| r.c(3));
            if name.is_none() && id.is_none() {
                return None;
            }
            let mut o = JsonMap::new();
            if let Some(i) = &id {
                o.insert("identifier".into(), json!([{ "value": i.as_str() }]));
            }
            if let Some(n) = &name {
                o.insert("name".into(), Json::from(n.as_str()));
            }
            let key = id.or(name).unwrap_or_default();
            Some(self.add(
                "Organization",
                uuid_of(format_args!("Organization|{key}")),
                o,
            ))
        });
        if let Some(o) = &org {
            pr.insert("organization".into(), reference(o));
        }
        if let Some(c) = &code {
            pr.insert("code".into(), json!([c.clone()]));
        }
        if let Some(s) = rol.rep(9).and_then(|r| codeable(&r, None)) {
            pr.insert("specialty".into(), json!([s]));
        }
        if let Some(l) = rol.rep(13).and_then(|r| self.location(&r)) {
            pr.insert("location".into(), json!([l]));
        }
        let telecom: Vec<Json> = rol
            .reps(12)
            .iter()
            .filter_map(|r| contact_point(r, Some("work")))
            .collect();
        if !telecom.is_empty() {
            pr.insert("telecom".into(), Json::Array(telecom));
        }
        let role_code = rol.c(3, 1).unwrap_or_default();
        let id = uuid_of(format_args!(
            "PractitionerRole|{person}|{role_code}|{}",
            org.as_deref().unwrap_or_default()
        ));
        let id = self.add("PractitionerRole", id, pr);
        match of {
            RoleOf::Patient => self.push_to(target, "generalPractitioner", reference(&id)),
            RoleOf::Encounter => {
                let mut participant = JsonMap::new();
                if let Some(c) = code {
                    participant.insert("type".into(), json!([c]));
                }
                if let Some(p) = span {
                    participant.insert("period".into(), p);
                }
                participant.insert("individual".into(), reference(&id));
                self.push_to(target, "participant", Json::Object(participant));
            }
            RoleOf::Procedure => {
                let mut performer = JsonMap::with_capacity(2);
                if let Some(c) = code {
                    performer.insert("function".into(), c);
                }
                performer.insert("actor".into(), reference(&id));
                self.push_to(target, "performer", Json::Object(performer));
            }
        }
    }
}
