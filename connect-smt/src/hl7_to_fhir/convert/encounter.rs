//! The visit: PV1 and PV2 as the Encounter.

use super::*;

const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";

impl<'a> Builder<'a> {
    pub(super) fn encounter(
        &mut self,
        patient: &str,
        event: &str,
    ) -> Result<Option<String>, Unmappable> {
        if self.msg.segment("PV1", 1).is_none() {
            return Ok(None);
        }
        let pv1 = self.seg("PV1", 1);
        let opts = self.opts;
        let t = &opts.time;
        let visit = pv1.rep(19).and_then(|r| r.c(1));
        let id = match &visit {
            Some(v) => uuid_of(format_args!("Encounter|{patient}|{v}")),
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
        e.insert("status".into(), Json::from(status));
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
            .and_then(|r| codeable(&r, Some(v2_table("0023"))))
        {
            hosp.insert("admitSource".into(), src);
        }
        if let Some(d) = pv1
            .rep(36)
            .and_then(|r| codeable(&r, Some(v2_table("0112"))))
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
}
