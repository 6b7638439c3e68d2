//! Financial transactions and procedures: FT1 (DFT) as a ChargeItem, PR1 as the IG's Procedure.

use super::*;
use connect_core::data::{civil_from_days, days_from_civil};

/// SNOMED CT codes of the IG's PR1 performer functions.
const ANESTHESIOLOGIST: &str = "88189002";
const SURGEON: &str = "304292004";

impl<'a> Builder<'a> {
    /// PR1 as the IG's Procedure: code (PR1-3, with PR1-16's modifier, PR1-4 as its text), when
    /// (PR1-5, a period of PR1-7 minutes when it has them), category (PR1-6), performers
    /// (anesthesiologist PR1-8, surgeon PR1-11, practitioner PR1-12), reasons (PR1-15) and
    /// identifier (PR1-19). Returns its id.
    pub(super) fn procedure(
        &mut self,
        occ: usize,
        patient: &str,
        encounter: Option<&str>,
    ) -> Result<Option<String>, Unmappable> {
        let pr1 = self.seg("PR1", occ);
        let code = pr1.rep(3).and_then(|r| {
            let mut c = codeable(&r, None)?;
            if let Some(modifier) = pr1.c(16, 1) {
                if let Some(code) = c.pointer_mut("/coding/0/code") {
                    let joined = format!("{}:{modifier}", code.as_str().unwrap_or_default());
                    *code = Json::from(joined);
                }
            }
            if c.get("text").is_none() {
                if let Some(text) = pr1.f(4) {
                    c["text"] = Json::from(text);
                }
            }
            Some(c)
        });
        let Some(code) = code.or_else(|| pr1.f(4).map(|t| json!({ "text": t }))) else {
            self.unmappable(format!("PR1({occ})-3: no procedure code"))?;
            return Ok(None);
        };
        let t = &self.opts.time;
        let mut p = JsonMap::new();
        if let Some(i) = pr1.rep(19).and_then(|r| identifier(&r, t)) {
            p.insert("identifier".into(), json!([i]));
        }
        p.insert("status".into(), json!("completed"));
        if let Some(c) = pr1
            .rep(6)
            .and_then(|r| codeable(&r, Some(v2_table("0230"))))
        {
            p.insert("category".into(), c);
        }
        p.insert("code".into(), code);
        p.insert("subject".into(), reference(patient));
        if let Some(e) = encounter {
            p.insert("encounter".into(), reference(e));
        }
        if let Some(start) = pr1.f(5).and_then(|d| t.date_time(&d)) {
            let minutes = pr1
                .f(7)
                .and_then(|m| m.trim().parse::<i64>().ok())
                .filter(|m| (1..=7 * 24 * 60).contains(m));
            let end = minutes.and_then(|m| add_minutes(&start, m));
            time_or_period(&mut p, "performed", Some(start), end);
        }
        let mut performers = Vec::new();
        for (field, function) in [(8, Some(ANESTHESIOLOGIST)), (11, Some(SURGEON)), (12, None)] {
            for r in pr1.reps(field) {
                if let Some(pr) = self.practitioner(&r) {
                    let mut perf = JsonMap::new();
                    if let Some(f) = function {
                        perf.insert(
                            "function".into(),
                            concept("http://snomed.info/sct", f, None),
                        );
                    }
                    perf.insert("actor".into(), reference(&pr));
                    performers.push(Json::Object(perf));
                }
            }
        }
        if !performers.is_empty() {
            p.insert("performer".into(), Json::Array(performers));
        }
        let reasons: Vec<Json> = pr1
            .reps(15)
            .iter()
            .filter_map(|r| codeable(r, None))
            .collect();
        if !reasons.is_empty() {
            p.insert("reasonCode".into(), Json::Array(reasons));
        }
        let id = self.id_for("Procedure", &occ.to_string());
        Ok(Some(self.add("Procedure", id, p)))
    }

    /// FT1 of a charge (FT1-6 `CG`) as a ChargeItem: transaction id (FT1-2), code (FT1-7, else the
    /// procedure code FT1-25), when (FT1-4), posted (FT1-5), quantity (FT1-10), extended amount as
    /// the price (FT1-11), reasons (FT1-19), performers (FT1-20), enterer (FT1-24), product (the
    /// NDC of FT1-29), note (FT1-8), the patient's account. Credits, payments and adjustments are
    /// not charges: they are noted and left out.
    pub(super) fn charge_item(
        &mut self,
        occ: usize,
        patient: &str,
        encounter: Option<&str>,
        account: Option<&str>,
    ) -> Result<(), Unmappable> {
        let ft1 = self.seg("FT1", occ);
        match ft1.c(6, 1).as_deref() {
            Some("CG") => {}
            Some(_) => {
                return self.unmappable(format!(
                    "FT1({occ})-6: not a charge (table 0017): credits, payments and adjustments are not mapped"
                ))
            }
            None => return self.unmappable(format!("FT1({occ})-6: no transaction type")),
        }
        let code = ft1
            .rep(7)
            .and_then(|r| codeable(&r, None))
            .or_else(|| ft1.rep(25).and_then(|r| codeable(&r, None)));
        let Some(code) = code else {
            return self.unmappable(format!("FT1({occ})-7: no transaction code"));
        };
        let t = &self.opts.time;
        let mut c = JsonMap::new();
        let transaction = ft1.f(2);
        if let Some(id) = &transaction {
            c.insert("identifier".into(), json!([{ "value": id.as_str() }]));
        }
        c.insert("status".into(), json!("billable"));
        c.insert("code".into(), code);
        c.insert("subject".into(), reference(patient));
        if let Some(e) = encounter {
            c.insert("context".into(), reference(e));
        }
        // FT1-4 is a DR: start^end.
        time_or_period(
            &mut c,
            "occurrence",
            ft1.c(4, 1).and_then(|d| t.date_time(&d)),
            ft1.c(4, 2).and_then(|d| t.date_time(&d)),
        );
        let performers: Vec<Json> = ft1
            .reps(20)
            .iter()
            .filter_map(|r| self.practitioner(r))
            .map(|p| json!({ "actor": reference(&p) }))
            .collect();
        if !performers.is_empty() {
            c.insert("performer".into(), Json::Array(performers));
        }
        if let Some(n) = ft1.f(10).and_then(|q| decimal(&q)) {
            c.insert("quantity".into(), json!({ "value": n }));
        }
        // CP: price (MO: quantity & currency) in component 1.
        if let Some(value) = ft1
            .rep(11)
            .and_then(|r| r.s(1, 1))
            .and_then(|v| decimal(&v))
        {
            let mut money = JsonMap::new();
            money.insert("value".into(), value);
            if let Some(cur) = ft1
                .rep(11)
                .and_then(|r| r.s(1, 2))
                .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
            {
                money.insert("currency".into(), Json::from(cur));
            }
            c.insert("priceOverride".into(), Json::Object(money));
        }
        if let Some(e) = ft1.rep(24).and_then(|r| self.practitioner(&r)) {
            c.insert("enterer".into(), reference(&e));
        }
        if let Some(d) = ft1.f(5).and_then(|d| t.date_time(&d)) {
            c.insert("enteredDate".into(), Json::from(d));
        }
        let reasons: Vec<Json> = ft1
            .reps(19)
            .iter()
            .filter_map(|r| codeable(r, None))
            .collect();
        if !reasons.is_empty() {
            c.insert("reason".into(), Json::Array(reasons));
        }
        if let Some(p) = ft1.rep(29).and_then(|r| codeable(&r, None)) {
            c.insert("productCodeableConcept".into(), p);
        }
        if let Some(a) = account {
            c.insert("account".into(), json!([reference(a)]));
        }
        if let Some(text) = ft1.f(8) {
            c.insert("note".into(), json!([{ "text": text }]));
        }
        let id = match transaction {
            Some(tx) => uuid_of(format_args!("ChargeItem|{patient}|{tx}|{occ}")),
            None => self.id_for("ChargeItem", &occ.to_string()),
        };
        self.add("ChargeItem", id, c);
        Ok(())
    }
}

/// A FHIR dateTime with a time (`YYYY-MM-DDThh:mm[:ss[.f]][offset]`) plus `minutes`, in the same
/// offset; None for a date without a time or a result past year 9999.
fn add_minutes(date_time: &str, minutes: i64) -> Option<String> {
    let (date, rest) = date_time.split_once('T')?;
    let mut d = date.split('-');
    let (y, mo, day): (i64, u32, u32) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&day) {
        return None;
    }
    let (h, mi) = (
        rest.get(0..2)?.parse::<i64>().ok()?,
        rest.get(3..5)?.parse::<i64>().ok()?,
    );
    let tail = rest.get(5..)?;
    let days = days_from_civil(y, mo, day);
    let total = days
        .checked_mul(1440)?
        .checked_add(h * 60 + mi)?
        .checked_add(minutes)?;
    let (days, in_day) = (total.div_euclid(1440), total.rem_euclid(1440));
    let (y, mo, day) = civil_from_days(days);
    if !(1..=9999).contains(&y) {
        return None;
    }
    Some(format!(
        "{y:04}-{mo:02}-{day:02}T{:02}:{:02}{tail}",
        in_day / 60,
        in_day % 60
    ))
}

#[cfg(test)]
mod tests {
    use super::add_minutes;

    #[test]
    fn minutes_carry_over_days_months_and_years_in_the_same_offset() {
        assert_eq!(
            add_minutes("2005-01-25T11:40:00+01:00", 2).as_deref(),
            Some("2005-01-25T11:42:00+01:00")
        );
        assert_eq!(
            add_minutes("2024-02-28T23:30:00Z", 90).as_deref(),
            Some("2024-02-29T01:00:00Z")
        );
        assert_eq!(
            add_minutes("2023-12-31T23:59-05:00", 1).as_deref(),
            Some("2024-01-01T00:00-05:00")
        );
        assert_eq!(add_minutes("2005-01-25", 2), None);
        assert_eq!(add_minutes("9999-12-31T23:59:00Z", 1), None);
    }
}
