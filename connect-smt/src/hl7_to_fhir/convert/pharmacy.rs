//! Pharmacy orders: an order group (ORC with its RXO, RXE, RXR, TQ1, RXD and RXA) as a
//! MedicationRequest (RXE, or RXO without one, after the IG's RXO, RXR and TQ1 maps), the
//! MedicationDispense of each RXD (RDS) and the MedicationAdministration of each RXA (RAS), both
//! authorized by the group's request; OBX of the group as its supporting information.

use super::orders::route_fields;
use super::timing::{cq, request_priority, timing};
use super::*;

/// Message types whose ORC groups are pharmacy orders.
pub(super) fn is_pharmacy(message_type: &str) -> bool {
    matches!(message_type, "RDE" | "OMP" | "RDS" | "RAS" | "RGV" | "RRE")
}

/// What an RXR or TQ1 that follows belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// ORC or RXO: the order as placed.
    Order,
    /// RXE: the order as the pharmacy encoded it.
    Encoded,
    /// The n-th dispense (index into `dispenses`).
    Dispense(usize),
    /// The n-th administration (index into `administrations`).
    Administration(usize),
}

/// The segments of one pharmacy order group, gathered until the next ORC or the end of the
/// message, when the group becomes resources ([`Builder::pharmacy_order`]).
pub(super) struct PharmacyOrder {
    orc: usize,
    rxo: Option<usize>,
    rxe: Option<usize>,
    order_route: Option<usize>,
    encoded_route: Option<usize>,
    order_timing: Option<usize>,
    encoded_timing: Option<usize>,
    /// RXD occurrences, each with its RXR.
    dispenses: Vec<(usize, Option<usize>)>,
    /// RXA occurrences, each with its RXR.
    administrations: Vec<(usize, Option<usize>)>,
    /// Observations (OBX) of the group.
    supporting: Vec<String>,
    /// NTE occurrences about the order.
    notes: Vec<usize>,
    last: Part,
}

impl PharmacyOrder {
    pub(super) fn new(orc: usize) -> Self {
        PharmacyOrder {
            orc,
            rxo: None,
            rxe: None,
            order_route: None,
            encoded_route: None,
            order_timing: None,
            encoded_timing: None,
            dispenses: Vec::new(),
            administrations: Vec::new(),
            supporting: Vec::new(),
            notes: Vec::new(),
            last: Part::Order,
        }
    }

    /// Takes one segment of the group; false when the segment is not a pharmacy one.
    pub(super) fn take(&mut self, name: &str, occ: usize) -> bool {
        match name {
            "RXO" => {
                self.rxo.get_or_insert(occ);
                self.last = Part::Order;
            }
            "RXE" => {
                self.rxe.get_or_insert(occ);
                self.last = Part::Encoded;
            }
            "RXD" => {
                self.dispenses.push((occ, None));
                self.last = Part::Dispense(self.dispenses.len() - 1);
            }
            "RXA" => {
                self.administrations.push((occ, None));
                self.last = Part::Administration(self.administrations.len() - 1);
            }
            "RXR" => {
                let slot = match self.last {
                    Part::Order => &mut self.order_route,
                    Part::Encoded => &mut self.encoded_route,
                    Part::Dispense(i) => &mut self.dispenses[i].1,
                    Part::Administration(i) => &mut self.administrations[i].1,
                };
                slot.get_or_insert(occ);
            }
            "TQ1" => match self.last {
                Part::Encoded => {
                    self.encoded_timing.get_or_insert(occ);
                }
                _ => {
                    self.order_timing.get_or_insert(occ);
                }
            },
            "NTE" => self.notes.push(occ),
            _ => return false,
        }
        true
    }

    pub(super) fn supporting(&mut self, observation: String) {
        self.supporting.push(observation);
    }
}

impl<'a> Builder<'a> {
    /// The resources of a finished pharmacy order group.
    pub(super) fn pharmacy_order(
        &mut self,
        group: PharmacyOrder,
        patient: &str,
        encounter: Option<&str>,
    ) -> Result<(), Unmappable> {
        let request = self.medication_request(&group, patient, encounter)?;
        for &(rxd, rxr) in &group.dispenses {
            self.medication_dispense(rxd, rxr, patient, encounter, request.as_deref())?;
        }
        for &(rxa, rxr) in &group.administrations {
            self.medication_administration(
                group.orc,
                rxa,
                rxr,
                patient,
                encounter,
                request.as_deref(),
            )?;
        }
        Ok(())
    }

    /// The group's MedicationRequest: ORC (identifiers, status, authored, requester), RXE or RXO
    /// (medication, dose, dispense request, substitution, instructions), RXR (route, site, method)
    /// and TQ1 (timing, priority). None for a group with neither RXE nor RXO (an administration or
    /// dispense report that carries no order).
    fn medication_request(
        &mut self,
        group: &PharmacyOrder,
        patient: &str,
        encounter: Option<&str>,
    ) -> Result<Option<String>, Unmappable> {
        // RXE is the pharmacy's encoding of the order; its fields are RXO's at other positions.
        let (give, fields) = match (group.rxe, group.rxo) {
            (Some(rxe), _) => (self.seg("RXE", rxe), GiveFields::RXE),
            (None, Some(rxo)) => (self.seg("RXO", rxo), GiveFields::RXO),
            (None, None) => return Ok(None),
        };
        let Some(medication) = give.rep(fields.code).and_then(|r| codeable(&r, None)) else {
            self.unmappable(format!(
                "{}-{}: no medication code",
                fields.segment, fields.code
            ))?;
            return Ok(None);
        };
        let orc = self.seg("ORC", group.orc);
        let t = &self.opts.time;
        let mut mr = JsonMap::new();
        let (ids, placer, filler) = order_identifiers(&orc);
        let mut ids = ids;
        // The prescription number (RXE-15).
        if let Some(rx) = fields.prescription.and_then(|f| give.f(f)) {
            ids.push(json!({ "value": rx }));
        }
        if !ids.is_empty() {
            mr.insert("identifier".into(), Json::Array(ids));
        }
        mr.insert("status".into(), json!(medication_request_status(&orc)));
        mr.insert(
            "intent".into(),
            json!(if group.rxe.is_some() {
                "order"
            } else {
                "original-order"
            }),
        );
        let timing_seg = group
            .encoded_timing
            .or(group.order_timing)
            .map(|o| self.seg("TQ1", o));
        if let Some(p) = timing_seg
            .and_then(|s| s.c(9, 1))
            .and_then(|p| request_priority(&p))
        {
            mr.insert("priority".into(), Json::from(p));
        }
        mr.insert("medicationCodeableConcept".into(), medication);
        mr.insert("subject".into(), reference(patient));
        if let Some(e) = encounter {
            mr.insert("encounter".into(), reference(e));
        }
        if let Some(d) = orc.f(9).and_then(|d| t.date_time(&d)) {
            mr.insert("authoredOn".into(), Json::from(d));
        }
        let requester = orc.rep(12).or_else(|| give.rep(fields.provider));
        if let Some(p) = requester.and_then(|r| self.practitioner(&r)) {
            mr.insert("requester".into(), reference(&p));
        }
        let route = group
            .encoded_route
            .or(group.order_route)
            .map(|o| self.seg("RXR", o));
        let mut dosage = dosage_instruction(&give, &fields, route.as_ref(), timing_seg.as_ref(), t);
        if !dosage.is_empty() {
            dosage.insert("sequence".into(), json!(1));
            mr.insert("dosageInstruction".into(), json!([dosage]));
        }
        let mut dispense = JsonMap::new();
        if let Some(n) = give.f(fields.dispense_amount).and_then(|a| decimal(&a)) {
            dispense.insert(
                "quantity".into(),
                quantity(n, give.rep(fields.dispense_units).as_ref()),
            );
        }
        if let Some(n) = give
            .f(fields.refills)
            .and_then(|r| r.trim().parse::<u32>().ok())
        {
            dispense.insert("numberOfRepeatsAllowed".into(), Json::from(n));
        }
        if !dispense.is_empty() {
            mr.insert("dispenseRequest".into(), Json::Object(dispense));
        }
        if let Some(s) = give.f(fields.substitution) {
            mr.insert(
                "substitution".into(),
                json!({ "allowedCodeableConcept": concept(v2_table("0167"), &s, None) }),
            );
        }
        if !group.supporting.is_empty() {
            mr.insert(
                "supportingInformation".into(),
                Json::Array(group.supporting.iter().map(|o| reference(o)).collect()),
            );
        }
        // One request per order: the same placer/filler numbers give the same resource in the RDE
        // that orders it and the RDS or RAS that reports on it.
        let id = match (placer, filler) {
            (None, None) => self.id_for("MedicationRequest", &group.orc.to_string()),
            (p, f) => uuid_of(format_args!(
                "MedicationRequest|{patient}|{}|{}",
                p.unwrap_or_default(),
                f.unwrap_or_default()
            )),
        };
        let id = self.add("MedicationRequest", id, mr);
        for &nte in &group.notes {
            self.note(nte, &id);
        }
        Ok(Some(id))
    }

    /// RXD (with its RXR) as a MedicationDispense: medication (RXD-2), time handed over (RXD-3),
    /// quantity (RXD-4, RXD-5), prescription number (RXD-7), notes (RXD-9), dispensing provider
    /// (RXD-10), substitution (RXD-11), route; authorized by the group's MedicationRequest.
    fn medication_dispense(
        &mut self,
        occ: usize,
        rxr: Option<usize>,
        patient: &str,
        encounter: Option<&str>,
        request: Option<&str>,
    ) -> Result<(), Unmappable> {
        let s = self.seg("RXD", occ);
        let Some(medication) = s.rep(2).and_then(|r| codeable(&r, None)) else {
            return self.unmappable(format!("RXD({occ})-2: no dispensed code"));
        };
        let t = &self.opts.time;
        let mut md = JsonMap::new();
        if let Some(rx) = s.f(7) {
            md.insert("identifier".into(), json!([{ "value": rx }]));
        }
        md.insert("status".into(), json!("completed"));
        md.insert("medicationCodeableConcept".into(), medication);
        md.insert("subject".into(), reference(patient));
        if let Some(e) = encounter {
            md.insert("context".into(), reference(e));
        }
        let performers: Vec<Json> = s
            .reps(10)
            .iter()
            .filter_map(|r| self.practitioner(r))
            .map(|p| json!({ "actor": reference(&p) }))
            .collect();
        if !performers.is_empty() {
            md.insert("performer".into(), Json::Array(performers));
        }
        if let Some(r) = request {
            md.insert("authorizingPrescription".into(), json!([reference(r)]));
        }
        if let Some(n) = s.f(4).and_then(|a| decimal(&a)) {
            md.insert("quantity".into(), quantity(n, s.rep(5).as_ref()));
        }
        if let Some(d) = s.f(3).and_then(|d| t.date_time(&d)) {
            md.insert("whenHandedOver".into(), Json::from(d));
        }
        let notes: Vec<Json> = s
            .reps(9)
            .iter()
            .filter_map(|r| r.whole())
            .map(|text| json!({ "text": text }))
            .collect();
        if !notes.is_empty() {
            md.insert("note".into(), Json::Array(notes));
        }
        if let Some(route) = rxr.map(|r| self.seg("RXR", r)) {
            let mut dosage = JsonMap::new();
            route_fields(&route, &mut dosage);
            if !dosage.is_empty() {
                md.insert("dosageInstruction".into(), json!([dosage]));
            }
        }
        if let Some(sub) = s.f(11) {
            // RXD-11: substitution status (table 0167); N is none made.
            md.insert(
                "substitution".into(),
                json!({
                    "wasSubstituted": sub != "N" && sub != "0",
                    "type": concept(v2_table("0167"), &sub, None),
                }),
            );
        }
        let id = self.id_for("MedicationDispense", &occ.to_string());
        self.add("MedicationDispense", id, md);
        Ok(())
    }

    /// RXA (with its RXR) in a pharmacy message as a MedicationAdministration: status (RXA-20,
    /// RXA-21), medication (RXA-5), when (RXA-3, RXA-4), dose (RXA-6, RXA-7), rate (RXA-12,
    /// RXA-13), administering providers (RXA-10), reason not given (RXA-18), route; the ORC's
    /// identifiers and ordering provider (the IG's ORC map); the group's MedicationRequest.
    fn medication_administration(
        &mut self,
        orc: usize,
        occ: usize,
        rxr: Option<usize>,
        patient: &str,
        encounter: Option<&str>,
        request: Option<&str>,
    ) -> Result<(), Unmappable> {
        let s = self.seg("RXA", occ);
        let Some(medication) = s.rep(5).and_then(|r| codeable(&r, None)) else {
            return self.unmappable(format!("RXA({occ})-5: no administered code"));
        };
        let t = &self.opts.time;
        let Some(start) = s.f(3).and_then(|d| t.date_time(&d)) else {
            return self.unmappable(format!("RXA({occ})-3: no administration time"));
        };
        let orc_s = self.seg("ORC", orc);
        let mut ma = JsonMap::new();
        let (ids, _, _) = order_identifiers(&orc_s);
        if !ids.is_empty() {
            ma.insert("identifier".into(), Json::Array(ids));
        }
        let status = match (s.f(21).as_deref(), s.f(20).as_deref()) {
            (Some("D"), _) => "entered-in-error",
            (_, Some("RE") | Some("NA")) => "not-done",
            (_, Some("PA")) => "stopped",
            _ => "completed",
        };
        ma.insert("status".into(), Json::from(status));
        if status == "not-done" {
            let reasons: Vec<Json> = s
                .reps(18)
                .iter()
                .filter_map(|r| codeable(r, None))
                .collect();
            if !reasons.is_empty() {
                ma.insert("statusReason".into(), Json::Array(reasons));
            }
        }
        ma.insert("medicationCodeableConcept".into(), medication);
        ma.insert("subject".into(), reference(patient));
        if let Some(e) = encounter {
            ma.insert("context".into(), reference(e));
        }
        let end = s.f(4).and_then(|d| t.date_time(&d)).filter(|e| *e != start);
        time_or_period(&mut ma, "effective", Some(start), end);
        let performers =
            self.performers_with_function(&[("AP", s.reps(10)), ("OP", orc_s.reps(12))]);
        if !performers.is_empty() {
            ma.insert("performer".into(), Json::Array(performers));
        }
        if let Some(r) = request {
            ma.insert("request".into(), reference(r));
        }
        let mut dosage = JsonMap::new();
        if let Some(route) = rxr.map(|r| self.seg("RXR", r)) {
            route_fields(&route, &mut dosage);
        }
        if let Some(n) = s.f(6).filter(|a| a != "999").and_then(|a| decimal(&a)) {
            dosage.insert("dose".into(), quantity(n, s.rep(7).as_ref()));
        }
        if let Some(n) = s.f(12).and_then(|a| decimal(&a)) {
            dosage.insert("rateQuantity".into(), quantity(n, s.rep(13).as_ref()));
        }
        if !dosage.is_empty() {
            ma.insert("dosage".into(), Json::Object(dosage));
        }
        let id = self.id_for("MedicationAdministration", &occ.to_string());
        self.add("MedicationAdministration", id, ma);
        Ok(())
    }
}

/// Where RXO and RXE keep the fields of one order (RXE is RXO's encoded form, its fields moved).
struct GiveFields {
    segment: &'static str,
    code: usize,
    amount_min: usize,
    amount_max: usize,
    units: usize,
    instructions: usize,
    substitution: usize,
    dispense_amount: usize,
    dispense_units: usize,
    refills: usize,
    provider: usize,
    prescription: Option<usize>,
    rate: Option<(usize, usize)>,
    daily_dose: Option<usize>,
}

impl GiveFields {
    const RXO: GiveFields = GiveFields {
        segment: "RXO",
        code: 1,
        amount_min: 2,
        amount_max: 3,
        units: 4,
        instructions: 7,
        substitution: 9,
        dispense_amount: 11,
        dispense_units: 12,
        refills: 13,
        provider: 14,
        prescription: None,
        rate: Some((21, 22)),
        daily_dose: None,
    };
    const RXE: GiveFields = GiveFields {
        segment: "RXE",
        code: 2,
        amount_min: 3,
        amount_max: 4,
        units: 5,
        instructions: 7,
        substitution: 9,
        dispense_amount: 10,
        dispense_units: 11,
        refills: 12,
        provider: 13,
        prescription: Some(15),
        rate: Some((23, 24)),
        daily_dose: Some(19),
    };
}

/// ORC-5 (order status, table 0038), else ORC-1 (order control, table 0119), as a
/// MedicationRequest status.
fn medication_request_status(orc: &Seg<'_>) -> &'static str {
    match (orc.f(5).as_deref(), orc.f(1).as_deref()) {
        (Some("CM"), _) => "completed",
        (Some("CA"), _) | (_, Some("CA" | "OC" | "CR")) => "cancelled",
        (Some("DC"), _) | (_, Some("DC" | "OD" | "DR")) => "stopped",
        (Some("HD"), _) | (_, Some("HD" | "OH")) => "on-hold",
        (Some("ER"), _) => "entered-in-error",
        _ => "active",
    }
}

/// The Dosage of an order: instructions (RXO/RXE-7, TQ1-10, TQ1-11), timing (TQ1), route (RXR),
/// dose (give amount and units, or TQ1-2), rate and maximum daily dose.
fn dosage_instruction(
    give: &Seg<'_>,
    f: &GiveFields,
    rxr: Option<&Seg<'_>>,
    tq1: Option<&Seg<'_>>,
    t: &Time,
) -> JsonMap {
    let mut d = JsonMap::new();
    if let Some(text) = tq1.and_then(|q| q.f(11)) {
        d.insert("text".into(), Json::from(text));
    }
    let mut additional: Vec<Json> = give
        .reps(f.instructions)
        .iter()
        .filter_map(|r| match (r.c(2), r.c(3)) {
            // Free text in the identifier's place, as senders often write instructions.
            (None, None) => r.whole().map(|w| json!({ "text": w })),
            _ => codeable(r, None),
        })
        .collect();
    if let Some(condition) = tq1.and_then(|q| q.f(10)) {
        additional.push(json!({ "text": condition }));
    }
    if let Some(x) = rxr.and_then(|r| r.rep(5)).and_then(|r| codeable(&r, None)) {
        additional.push(x);
    }
    if !additional.is_empty() {
        d.insert("additionalInstruction".into(), Json::Array(additional));
    }
    if let Some(timing) = tq1.and_then(|q| timing(q, t)) {
        d.insert("timing".into(), timing);
    }
    if let Some(r) = rxr {
        route_fields(r, &mut d);
    }
    let units = give.rep(f.units);
    let min = give.f(f.amount_min).and_then(|a| decimal(&a));
    let max = give.f(f.amount_max).and_then(|a| decimal(&a));
    let mut rate = JsonMap::new();
    match (min, max) {
        (Some(lo), Some(hi)) => {
            rate.insert(
                "doseRange".into(),
                json!({ "low": quantity(lo, units.as_ref()), "high": quantity(hi, units.as_ref()) }),
            );
        }
        (Some(n), None) => {
            rate.insert("doseQuantity".into(), quantity(n, units.as_ref()));
        }
        _ => {
            if let Some(q) = tq1.and_then(|q| q.rep(2)).and_then(|r| cq(&r)) {
                rate.insert("doseQuantity".into(), q);
            }
        }
    }
    if let Some((amount, units)) = f.rate {
        if let Some(n) = give.f(amount).and_then(|a| decimal(&a)) {
            rate.insert("rateQuantity".into(), quantity(n, give.rep(units).as_ref()));
        }
    }
    if !rate.is_empty() {
        rate.insert(
            "type".into(),
            concept(
                "http://terminology.hl7.org/CodeSystem/dose-rate-type",
                "ordered",
                Some("Ordered"),
            ),
        );
        d.insert("doseAndRate".into(), json!([rate]));
    }
    if let Some(daily) = f
        .daily_dose
        .and_then(|field| give.rep(field))
        .and_then(|r| cq(&r))
    {
        d.insert(
            "maxDosePerPeriod".into(),
            json!({
                "numerator": daily,
                "denominator": {
                    "value": 1, "unit": "day",
                    "system": "http://unitsofmeasure.org", "code": "d",
                },
            }),
        );
    }
    d
}
