//! TQ1 (timing/quantity) as a FHIR Timing, after the IG's TQ1 maps to MedicationRequest and
//! ServiceRequest, with the CQ quantities and the priority it carries.

use super::*;
use crate::hl7_to_fhir::datatypes::system_uri;

/// TQ1-9 (table 0485) as a request priority; None for codes FHIR's priorities do not hold.
pub(super) fn request_priority(code: &str) -> Option<&'static str> {
    match code {
        "S" => Some("stat"),
        "A" => Some("asap"),
        "R" => Some("routine"),
        "T" | "C" => Some("urgent"),
        _ => None,
    }
}

/// A CQ (quantity^units, the units a CWE in subcomponents) as a Quantity.
pub(super) fn cq(rep: &Rep<'_>) -> Option<Json> {
    let value = rep.c(1).and_then(|v| decimal(&v))?;
    Some(quantity_in(value, rep.s(2, 1), rep.s(2, 2), rep.s(2, 3)))
}

/// A CQ's units as one of the Timing units (s, min, h, d, wk, mo, a), when they are one.
fn time_unit(rep: &Rep<'_>) -> Option<&'static str> {
    let u = rep.s(2, 1).or_else(|| rep.s(2, 2))?.to_ascii_lowercase();
    Some(match u.as_str() {
        "s" | "sec" | "second" | "seconds" => "s",
        "min" | "minute" | "minutes" => "min",
        "h" | "hr" | "hour" | "hours" => "h",
        "d" | "day" | "days" => "d",
        "wk" | "week" | "weeks" => "wk",
        "mo" | "month" | "months" => "mo",
        "a" | "ann" | "yr" | "year" | "years" => "a",
        _ => return None,
    })
}

/// TQ1 as a Timing: the repeat pattern (TQ1-3) as its code, with the frequency of the common
/// abbreviations and the event it is relative to; explicit times (TQ1-4) as timeOfDay; bounds from
/// TQ1-7 and TQ1-8, or the service duration (TQ1-6); the duration of each occurrence (TQ1-13) and
/// their number (TQ1-14).
pub(super) fn timing(tq1: &Seg<'_>, t: &Time) -> Option<Json> {
    let mut timing = JsonMap::new();
    let mut repeat = JsonMap::new();
    if let Some(pattern) = tq1.rep(3) {
        // RPT.1 is a CWE in subcomponents: code, text, system.
        if let Some(code) = pattern.s(1, 1) {
            let upper = code.to_ascii_uppercase();
            let (frequency, period, unit) = match upper.as_str() {
                "QD" | "Q1D" | "QAM" | "QPM" | "QHS" => (1, 1, "d"),
                "BID" => (2, 1, "d"),
                "TID" => (3, 1, "d"),
                "QID" => (4, 1, "d"),
                "QOD" => (1, 2, "d"),
                "QW" | "Q1W" => (1, 1, "wk"),
                _ => match upper
                    .strip_prefix('Q')
                    .and_then(|r| r.strip_suffix('H'))
                    .and_then(|h| h.parse::<u32>().ok())
                    .filter(|h| (1..=72).contains(h))
                {
                    Some(h) => (1, h, "h"),
                    None => (0, 0, ""),
                },
            };
            let gts = [
                "BID", "TID", "QID", "AM", "PM", "QD", "QOD", "Q1H", "Q2H", "Q3H", "Q4H", "Q6H",
                "Q8H", "BED", "WK", "MO",
            ];
            let system = match pattern.s(1, 3).and_then(|s| system_uri(&s)) {
                Some(s) => s,
                None if gts.contains(&upper.as_str()) => {
                    Str::Borrowed("http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation")
                }
                None => v2_table("0335"),
            };
            let mut coding = JsonMap::new();
            coding.insert("system".into(), Json::from(system));
            coding.insert("code".into(), Json::from(code));
            if let Some(text) = pattern.s(1, 2) {
                coding.insert("display".into(), Json::from(text));
            }
            timing.insert("code".into(), json!({ "coding": [coding] }));
            if frequency > 0 {
                repeat.insert("frequency".into(), Json::from(frequency));
                repeat.insert("period".into(), Json::from(period));
                repeat.insert("periodUnit".into(), Json::from(unit));
            }
        }
        // RPT.8: the event the pattern is relative to (before/after meals, at bedtime).
        const WHEN: [&str; 16] = [
            "HS", "WAKE", "C", "CM", "CD", "CV", "AC", "ACM", "ACD", "ACV", "PC", "PCM", "PCD",
            "PCV", "MORN", "NIGHT",
        ];
        if let Some(when) = pattern
            .c(8)
            .map(|w| w.to_ascii_uppercase())
            .filter(|w| WHEN.contains(&w.as_str()))
        {
            repeat.insert("when".into(), json!([when]));
        }
    }
    // TQ1-4: explicit times of day.
    let times: Vec<Json> = tq1
        .reps(4)
        .iter()
        .filter_map(|r| r.whole())
        .filter_map(|x| time_of_day(&x))
        .map(Json::from)
        .collect();
    if !times.is_empty() {
        repeat.insert("timeOfDay".into(), Json::Array(times));
    }
    let start = tq1.f(7).and_then(|d| t.date_time(&d));
    let end = tq1.f(8).and_then(|d| t.date_time(&d));
    if let Some(p) = period(start, end) {
        repeat.insert("boundsPeriod".into(), p);
    } else if let Some(d) = tq1.rep(6) {
        if let (Some(value), Some(unit)) = (d.c(1).and_then(|v| decimal(&v)), time_unit(&d)) {
            repeat.insert(
                "boundsDuration".into(),
                json!({ "value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit }),
            );
        }
    }
    if let Some(d) = tq1.rep(13) {
        if let (Some(value), Some(unit)) = (d.c(1).and_then(|v| decimal(&v)), time_unit(&d)) {
            repeat.insert("duration".into(), value);
            repeat.insert("durationUnit".into(), Json::from(unit));
        }
    }
    if let Some(n) = tq1
        .f(14)
        .and_then(|n| n.trim().parse::<u32>().ok())
        .filter(|n| *n > 0)
    {
        repeat.insert("countMax".into(), Json::from(n));
    }
    if !repeat.is_empty() {
        timing.insert("repeat".into(), Json::Object(repeat));
    }
    (!timing.is_empty()).then_some(Json::Object(timing))
}
