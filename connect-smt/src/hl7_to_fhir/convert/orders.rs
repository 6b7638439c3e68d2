//! Orders and results: ORC/OBR (ServiceRequest, DiagnosticReport), OBX (Observation), RXA/RXR
//! (Immunization), SPM (Specimen) and NTE (notes on them).

use super::timing::{cq, request_priority, timing};
use super::*;

impl<'a> Builder<'a> {
    /// SPM as the IG's Specimen: placer and filler ids (SPM-2), type (SPM-4), collection (method
    /// SPM-7, site SPM-8, time or period SPM-17), received time (SPM-18), availability (SPM-20),
    /// description (SPM-14), condition (SPM-24), container (type SPM-27, additive SPM-6) and
    /// accession id (SPM-30). Returns its id.
    pub(super) fn specimen(
        &mut self,
        occ: usize,
        patient: &str,
    ) -> Result<Option<String>, Unmappable> {
        let spm = self.seg("SPM", occ);
        let Some(kind) = spm
            .rep(4)
            .and_then(|r| codeable(&r, Some(v2_table("0487"))))
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
            sp.insert("receivedTime".into(), Json::from(r));
        }
        let mut collection = JsonMap::new();
        time_or_period(
            &mut collection,
            "collected",
            spm.c(17, 1).and_then(|d| t.date_time(&d)),
            spm.c(17, 2).and_then(|d| t.date_time(&d)),
        );
        if let Some(m) = spm
            .rep(7)
            .and_then(|r| codeable(&r, Some(v2_table("0488"))))
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
            .and_then(|r| codeable(&r, Some(v2_table("0371"))))
        {
            container.insert("additiveCodeableConcept".into(), a);
        }
        if !container.is_empty() {
            sp.insert("container".into(), json!([container]));
        }
        let conditions: Vec<Json> = spm
            .reps(24)
            .iter()
            .filter_map(|r| codeable(r, Some(v2_table("0493"))))
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
            Some(k) => uuid_of(format_args!("Specimen|{patient}|{k}")),
            None => self.id_for("Specimen", &occ.to_string()),
        };
        Ok(Some(self.add("Specimen", id, sp)))
    }

    /// NTE as an Annotation on the resource it follows: the comment (NTE-3, repetitions as lines),
    /// its author (NTE-5, a Practitioner) and time (NTE-6).
    pub(super) fn note(&mut self, occ: usize, target: &str) {
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
            note.insert("time".into(), Json::from(t));
        }
        note.insert("text".into(), json!(lines.join("\n")));
        self.push_to(target, "note", Json::Object(note));
    }

    /// ORC (and the OBR after it, if any) -> ServiceRequest.
    pub(super) fn service_request(
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
                ids.push(json!({"type": concept(v2_table("0203"), ty, None), "value": v.as_str()}));
            }
        }
        if !ids.is_empty() {
            sr.insert("identifier".into(), Json::Array(ids));
        }
        let control = orc_s.and_then(|s| s.f(1)).unwrap_or_default();
        let order_status = orc_s.and_then(|s| s.f(5));
        let status = match (order_status.as_deref(), control.as_str()) {
            // RE: the order's results or the service done (VXU, ORU) are reported.
            (Some("CM"), _) | (None, "RE") => "completed",
            (Some("CA") | Some("DC"), _) | (_, "CA" | "OC" | "DC") => "revoked",
            (Some("HD"), _) | (_, "HD") => "on-hold",
            (Some("ER"), _) => "entered-in-error",
            _ => "active",
        };
        sr.insert("status".into(), Json::from(status));
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
            sr.insert("authoredOn".into(), Json::from(d));
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

    /// TQ1 of an order as the IG's ServiceRequest timing: occurrenceTiming (see [`timing`]),
    /// priority (TQ1-9), quantity (TQ1-2), the text instruction (TQ1-11) as a note.
    pub(super) fn request_timing(&mut self, occ: usize, request: &str) {
        let tq1 = self.seg("TQ1", occ);
        if let Some(t) = timing(&tq1, &self.opts.time) {
            self.set_if_absent(request, "occurrenceTiming", t);
        }
        if let Some(p) = tq1.c(9, 1).and_then(|p| request_priority(&p)) {
            self.set_if_absent(request, "priority", Json::from(p));
        }
        if let Some(q) = tq1.rep(2).and_then(|r| cq(&r)) {
            self.set_if_absent(request, "quantityQuantity", q);
        }
        if let Some(text) = tq1.f(11) {
            self.push_to(request, "note", json!({ "text": text }));
        }
    }

    /// OBR of a result (ORU, OUL) as a DiagnosticReport: the request it is based on, status
    /// (OBR-25), code (OBR-4), effective (OBR-7), issued (OBR-22), its specimens (the group's SPM)
    /// and results (the group's OBX).
    pub(super) fn diagnostic_report(
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
        d.insert("status".into(), Json::from(status));
        d.insert("code".into(), code);
        d.insert("subject".into(), reference(patient));
        if let Some(e) = encounter {
            d.insert("encounter".into(), reference(e));
        }
        if let Some(x) = s.f(7).and_then(|x| t.date_time(&x)) {
            d.insert("effectiveDateTime".into(), Json::from(x));
        }
        if let Some(x) = s.f(22).and_then(|x| t.instant(&x)) {
            d.insert("issued".into(), Json::from(x));
        }
        // The specimens of the order group (its SPM), which the request already names.
        let specimens = request.and_then(|r| {
            self.entries
                .iter()
                .find(|(id, _)| id == r)
                .and_then(|(_, sr)| sr.get("specimen").cloned())
        });
        if let Some(sp) = specimens {
            d.insert("specimen".into(), sp);
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

    pub(super) fn observation(
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
        o.insert("status".into(), Json::from(status));
        o.insert("code".into(), code);
        o.insert("subject".into(), reference(patient));
        if let Some(e) = encounter {
            o.insert("encounter".into(), reference(e));
        }
        if let Some(x) = s.f(14).and_then(|x| t.date_time(&x)) {
            o.insert("effectiveDateTime".into(), Json::from(x));
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
                "ST" | "TX" | "FT" => v.whole().map(|x| ("valueString", Json::from(x))),
                "CWE" | "CE" | "CNE" | "CF" => {
                    codeable(&v, None).map(|c| ("valueCodeableConcept", c))
                }
                "SN" => structured_numeric(&v, units.as_ref()),
                "DT" => v
                    .whole()
                    .and_then(|x| t.date(&x))
                    .map(|d| ("valueDateTime", Json::from(d))),
                "TS" | "DTM" => v
                    .whole()
                    .and_then(|x| t.date_time(&x))
                    .map(|d| ("valueDateTime", Json::from(d))),
                "TM" => v
                    .whole()
                    .and_then(|x| time_of_day(&x))
                    .map(|d| ("valueTime", Json::from(d))),
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

    /// RXA as the IG's Immunization: vaccine (RXA-5), time (RXA-3), dose (RXA-6, RXA-7), lot and
    /// expiry (RXA-15, RXA-16), manufacturer (RXA-17), status (RXA-20), administering providers
    /// (RXA-10, function AP); from its ORC the placer and filler numbers, the recorded time (ORC-9),
    /// the ordering provider (ORC-12, function OP) and, through R5's basedOn as an extension, the
    /// ServiceRequest made of the ORC. The route and site come later, from an RXR
    /// ([`Builder::immunization_route`]). Returns its id.
    pub(super) fn immunization(
        &mut self,
        occ: usize,
        patient: &str,
        orc: Option<usize>,
        request: Option<&str>,
    ) -> Result<Option<String>, Unmappable> {
        let s = self.seg("RXA", occ);
        let opts = self.opts;
        let t = &opts.time;
        let Some(vaccine) = s
            .rep(5)
            .and_then(|r| codeable(&r, Some(Str::Borrowed("http://hl7.org/fhir/sid/cvx"))))
        else {
            self.unmappable(format!("RXA({occ})-5: no vaccine code"))?;
            return Ok(None);
        };
        let Some(when) = s.f(3).and_then(|x| t.date_time(&x)) else {
            self.unmappable(format!("RXA({occ})-3: no administration date"))?;
            return Ok(None);
        };
        let orc = orc.map(|o| self.seg("ORC", o));
        let status = match s.f(20).as_deref() {
            Some("RE") | Some("NA") => "not-done",
            _ => "completed",
        };
        let mut i = JsonMap::new();
        if let Some(r) = request {
            i.insert(
                "extension".into(),
                json!([{
                    "url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-Immunization.basedOn",
                    "valueReference": reference(r),
                }]),
            );
        }
        let ids = orc.map(|o| order_identifiers(&o).0).unwrap_or_default();
        if !ids.is_empty() {
            i.insert("identifier".into(), Json::Array(ids));
        }
        i.insert("status".into(), Json::from(status));
        i.insert("vaccineCode".into(), vaccine);
        i.insert("patient".into(), reference(patient));
        i.insert("occurrenceDateTime".into(), Json::from(when));
        if let Some(r) = orc.and_then(|o| o.f(9)).and_then(|x| t.date_time(&x)) {
            i.insert("recorded".into(), Json::from(r));
        }
        if let Some(lot) = s.f(15) {
            i.insert("lotNumber".into(), Json::from(lot));
        }
        if let Some(exp) = s.f(16).and_then(|x| t.date(&x)) {
            if exp.len() == 10 {
                i.insert("expirationDate".into(), Json::from(exp));
            }
        }
        if let Some(mfr) = s.rep(17).and_then(|r| r.c(2).or_else(|| r.c(1))) {
            i.insert("manufacturer".into(), json!({ "display": mfr }));
        }
        if let Some(amount) = s.f(6).filter(|a| a != "999").and_then(|a| decimal(&a)) {
            i.insert("doseQuantity".into(), quantity(amount, s.rep(7).as_ref()));
        }
        let ordering = orc.map(|o| o.reps(12)).unwrap_or_default();
        let performers = self.performers_with_function(&[("AP", s.reps(10)), ("OP", ordering)]);
        if !performers.is_empty() {
            i.insert("performer".into(), Json::Array(performers));
        }
        let id = self.id_for("Immunization", &occ.to_string());
        Ok(Some(self.add("Immunization", id, i)))
    }

    /// The RXR after an RXA: route (RXR-1) and site (RXR-2) of its Immunization.
    pub(super) fn immunization_route(&mut self, occ: usize, immunization: &str) {
        let mut dosage = JsonMap::new();
        route_fields(&self.seg("RXR", occ), &mut dosage);
        // (An Immunization has no method.)
        for field in ["route", "site"] {
            if let Some(v) = dosage.remove(field) {
                self.set_if_absent(immunization, field, v);
            }
        }
    }
}

/// RXR-1 route (table 0162), RXR-2 site (0163), RXR-4 method (0165), into a Dosage.
pub(super) fn route_fields(rxr: &Seg<'_>, dosage: &mut JsonMap) {
    for (field, name, table) in [
        (2, "site", "0163"),
        (1, "route", "0162"),
        (4, "method", "0165"),
    ] {
        if let Some(x) = rxr
            .rep(field)
            .and_then(|r| codeable(&r, Some(v2_table(table))))
        {
            dosage.insert(name.into(), x);
        }
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
                q["comparator"] = Json::from(c);
            }
            Some(("valueQuantity", q))
        }
        _ => None,
    }
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
