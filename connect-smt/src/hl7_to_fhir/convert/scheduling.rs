//! Scheduling: SIU's SCH, TQ1 and resource segments as the Appointment.

use super::*;

impl<'a> Builder<'a> {
    /// SCH (SIU) as the IG's Appointment: placer and filler ids (SCH-1, SCH-2, the filler's or
    /// else the placer's fixing the id, so S13-S15 update the S12's resource), status (SCH-25,
    /// table 0278, else the trigger event), reason (SCH-7), type (SCH-8), duration (SCH-9 in
    /// minutes), start and end (TQ1-7/8, else SCH-11.4/5), services (AIS-3), and as participants the
    /// Patient, the placer and filler contacts (SCH-12, SCH-16), the resources' personnel (AIP-3) and
    /// locations (AIL-3).
    pub(super) fn appointment(&mut self, patient: &str, event: &str) -> Result<(), Unmappable> {
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
        a.insert("status".into(), Json::from(status));
        let services: Vec<Json> = (1..)
            .map_while(|occ| self.msg.segment("AIS", occ).map(|_| occ))
            .filter_map(|occ| self.seg("AIS", occ).rep(3).and_then(|r| codeable(&r, None)))
            .collect();
        if !services.is_empty() {
            a.insert("serviceType".into(), Json::Array(services));
        }
        if let Some(ty) = sch
            .rep(8)
            .and_then(|r| codeable(&r, Some(v2_table("0277"))))
        {
            a.insert("appointmentType".into(), ty);
        }
        if let Some(reason) = sch
            .rep(7)
            .and_then(|r| codeable(&r, Some(v2_table("0276"))))
        {
            a.insert("reasonCode".into(), json!([reason]));
        }
        let instant =
            |v: Option<String>| v.and_then(|v| t.date_time(&v)).filter(|d| d.contains('T'));
        let tq1 = self.seg("TQ1", 1);
        let start = instant(tq1.f(7)).or_else(|| instant(sch.c(11, 4)));
        let end = instant(tq1.f(8)).or_else(|| instant(sch.c(11, 5)));
        if let Some(st) = start {
            a.insert("start".into(), Json::from(st));
        }
        if let Some(en) = end {
            a.insert("end".into(), Json::from(en));
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
            a.insert("minutesDuration".into(), Json::from(m));
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
            Some(k) => uuid_of(format_args!("Appointment|{patient}|{k}")),
            None => self.id_for("Appointment", "SCH"),
        };
        self.add("Appointment", id, a);
        Ok(())
    }
}
