//! HL7 v2 datatypes to FHIR R4 datatypes, after the HL7 v2-to-FHIR Implementation Guide's datatype
//! maps: CWE/CE -> CodeableConcept, CX -> Identifier, XPN -> HumanName, XAD -> Address,
//! XTN -> ContactPoint, DTM/TS -> date, dateTime and instant, NM/SN -> Quantity and Range.

use super::tree::{Json, JsonMap, Str};
use connect_core::hl7::{nth_part, unescape, Message, SegmentRef};

/// One segment occurrence of a message, read by field, repetition, component and subcomponent
/// numbers (all 1-based). The segment is found once; parts are sliced from its bytes, so reading a
/// part costs a split and, for the text, one string.
#[derive(Clone, Copy)]
pub(crate) struct Seg<'a> {
    msg: &'a Message,
    seg: Option<SegmentRef<'a>>,
}

impl<'a> Seg<'a> {
    /// The `occurrence`-th segment `name` of `msg` (reads as empty when there is none).
    pub(crate) fn new(msg: &'a Message, name: &str, occurrence: usize) -> Self {
        Seg {
            msg,
            seg: msg.segment(name, occurrence),
        }
    }

    fn raw(
        &self,
        field: usize,
        rep: usize,
        comp: Option<usize>,
        sub: Option<usize>,
    ) -> Option<&'a [u8]> {
        let f = self.seg?.field_raw(field)?;
        let r = nth_part(f, self.msg.delimiters().repetition, rep.checked_sub(1)?)?;
        part_of(self.msg, r, comp, sub)
    }

    fn text(
        &self,
        field: usize,
        rep: usize,
        comp: Option<usize>,
        sub: Option<usize>,
    ) -> Option<String> {
        decode(self.msg, self.raw(field, rep, comp, sub)?)
    }

    /// Text of a whole field (first repetition).
    pub(crate) fn f(&self, field: usize) -> Option<String> {
        self.text(field, 1, None, None)
    }
    /// Text of a component of the first repetition.
    pub(crate) fn c(&self, field: usize, comp: usize) -> Option<String> {
        self.text(field, 1, Some(comp), None)
    }
    /// The repetitions of a field that have content, each as a component reader (the field is
    /// split once).
    pub(crate) fn reps(&self, field: usize) -> Vec<Rep<'a>> {
        let Some(raw) = self.seg.and_then(|s| s.field_raw(field)) else {
            return Vec::new();
        };
        let sep = self.msg.delimiters().repetition;
        raw.split(|&b| b == sep)
            .filter(|r| !r.is_empty())
            .map(|raw| Rep { msg: self.msg, raw })
            .collect()
    }
    /// The first repetition of a field, when it has content.
    pub(crate) fn rep(&self, field: usize) -> Option<Rep<'a>> {
        self.raw(field, 1, None, None)
            .map(|raw| Rep { msg: self.msg, raw })
    }
}

/// Component `comp` (and subcomponent `sub`) of one repetition's bytes; None when empty.
fn part_of<'a>(
    msg: &Message,
    rep: &'a [u8],
    comp: Option<usize>,
    sub: Option<usize>,
) -> Option<&'a [u8]> {
    let d = msg.delimiters();
    let part = match comp {
        None => rep,
        Some(c) => {
            let c = nth_part(rep, d.component, c.checked_sub(1)?)?;
            match sub {
                None => c,
                Some(s) => nth_part(c, d.subcomponent, s.checked_sub(1)?)?,
            }
        }
    };
    (!part.is_empty()).then_some(part)
}

/// A part's text: unescaped and decoded in the message's charset; None when that is empty.
fn decode(msg: &Message, raw: &[u8]) -> Option<String> {
    let text = msg.decode_text(&unescape(raw, msg.delimiters()));
    (!text.is_empty()).then_some(text)
}

/// One repetition of one field: a composite value read by component. It holds the repetition's
/// bytes, so reading a component splits only them.
#[derive(Clone, Copy)]
pub(crate) struct Rep<'a> {
    msg: &'a Message,
    raw: &'a [u8],
}

impl Rep<'_> {
    /// The whole repetition (components joined as in ER7, unescaped).
    pub(crate) fn whole(&self) -> Option<String> {
        decode(self.msg, self.raw)
    }
    /// Component `n`.
    pub(crate) fn c(&self, n: usize) -> Option<String> {
        decode(self.msg, part_of(self.msg, self.raw, Some(n), None)?)
    }
    /// Subcomponent `s` of component `n`.
    pub(crate) fn s(&self, n: usize, s: usize) -> Option<String> {
        decode(self.msg, part_of(self.msg, self.raw, Some(n), Some(s))?)
    }
}

/// The FHIR system URI of an HL7 v2 coding system name (CWE.3), when it is a known one.
pub(crate) fn system_uri(name: &str) -> Option<Str> {
    // Every known name is short: upper-cased on the stack.
    let n = name.trim().as_bytes();
    let mut buf = [0u8; 16];
    let upper = buf.get_mut(..n.len())?;
    upper.copy_from_slice(n);
    upper.make_ascii_uppercase();
    let upper = std::str::from_utf8(upper).ok()?;
    let known = match upper {
        "LN" | "LOINC" => "http://loinc.org",
        "SCT" | "SNM" | "SNM3" | "SNOMED" | "SNOMEDCT" => "http://snomed.info/sct",
        "I10" | "ICD10" => "http://hl7.org/fhir/sid/icd-10",
        "I10C" | "ICD10CM" | "I10CM" => "http://hl7.org/fhir/sid/icd-10-cm",
        "I10P" | "ICD10PCS" => "http://www.cms.gov/Medicare/Coding/ICD10",
        "I9" | "I9C" | "I9CDX" | "ICD9" | "ICD9CM" => "http://hl7.org/fhir/sid/icd-9-cm",
        "CVX" => "http://hl7.org/fhir/sid/cvx",
        "MVX" => "http://hl7.org/fhir/sid/mvx",
        "UCUM" => "http://unitsofmeasure.org",
        "RXNORM" | "RXN" => "http://www.nlm.nih.gov/research/umls/rxnorm",
        "NDC" => "http://hl7.org/fhir/sid/ndc",
        "CPT" | "C4" | "C5" => "http://www.ama-assn.org/go/cpt",
        "HCPCS" | "HCPT" => "urn:oid:2.16.840.1.113883.6.285",
        "NUCC" | "HCPTNUCC" => "http://nucc.org/provider-taxonomy",
        "ISO3166_1" | "ISO3166-1" => "urn:iso:std:iso:3166",
        "NCIT" => "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl",
        // CDC Race & Ethnicity.
        "CDCREC" => "urn:oid:2.16.840.1.113883.6.238",
        _ => "",
    };
    if !known.is_empty() {
        return Some(Str::Borrowed(known));
    }
    // HL7 tables: HL70001 (and HL7nnnn), as the v2 code systems on terminology.hl7.org.
    if let Some(num) = upper.strip_prefix("HL7") {
        if num.len() == 4 && num.bytes().all(|b| b.is_ascii_digit()) {
            return Some(v2_table(num));
        }
    }
    None
}

/// The v2 table system URI, `http://terminology.hl7.org/CodeSystem/v2-0203`.
pub(crate) fn v2_table(table: &str) -> Str {
    /// The tables the maps name: their URIs are constants; any other is formatted.
    macro_rules! known {
        ($($t:literal),*) => {
            [$(($t, concat!("http://terminology.hl7.org/CodeSystem/v2-", $t))),*]
        };
    }
    const KNOWN: [(&str, &str); 25] = known!(
        "0001", "0002", "0003", "0006", "0023", "0062", "0063", "0086", "0112", "0162", "0163",
        "0165", "0167", "0203", "0230", "0270", "0276", "0277", "0296", "0335", "0371", "0443",
        "0487", "0488", "0493"
    );
    match KNOWN.iter().find(|(t, _)| *t == table) {
        Some((_, uri)) => Str::Borrowed(uri),
        None => Str::Owned(format!("http://terminology.hl7.org/CodeSystem/v2-{table}")),
    }
}

fn coding(code: Option<String>, display: Option<String>, system: Option<Str>) -> Option<Json> {
    if code.is_none() && display.is_none() {
        return None;
    }
    let mut c = JsonMap::new();
    if let Some(s) = system {
        c.insert("system".into(), Json::from(s));
    }
    if let Some(code) = code {
        c.insert("code".into(), Json::from(code));
    }
    if let Some(d) = display {
        c.insert("display".into(), Json::from(d));
    }
    Some(Json::Object(c))
}

/// CWE/CE -> CodeableConcept: the primary coding (components 1-3), the alternate (4-6), and the
/// original text (CWE.9) or, without any code, the text of component 2 as `text`.
/// `default_system` applies when CWE.3 is empty (a field bound to an HL7 table).
pub(crate) fn codeable(rep: &Rep<'_>, default_system: Option<Str>) -> Option<Json> {
    let mut codings = Vec::new();
    // The field's table applies only when the coding names no system: a named one we do not know
    // (a local code set) gets none, not the table's.
    let system = |n: usize| match rep.c(n) {
        Some(name) => system_uri(&name),
        None if n == 3 => default_system.clone(),
        None => None,
    };
    let code1 = rep.c(1).or_else(|| {
        // A field without components is the code itself.
        rep.whole().filter(|w| !w.contains('^'))
    });
    if let Some(c) = coding(code1.clone(), rep.c(2), system(3)) {
        codings.push(c);
    }
    if let Some(c) = coding(rep.c(4), rep.c(5), system(6)) {
        codings.push(c);
    }
    let mut cc = JsonMap::new();
    if !codings.is_empty() {
        cc.insert("coding".into(), Json::Array(codings));
    }
    if let Some(t) = rep.c(9) {
        cc.insert("text".into(), Json::from(t));
    }
    (!cc.is_empty()).then_some(Json::Object(cc))
}

/// A CodeableConcept with one coding from a fixed system.
pub(crate) fn concept(system: impl Into<Str>, code: &str, display: Option<&str>) -> Json {
    let mut c = json!({"system": Json::String(system.into()), "code": code});
    if let Some(d) = display {
        c["display"] = Json::from(d);
    }
    json!({ "coding": [c] })
}

/// Precision-preserving conversions of HL7 DTM/TS/DT values.
pub(crate) struct Time {
    /// The default offset (`+01:00`) for times that carry none; None keeps only their date.
    pub(crate) default_offset: Option<String>,
}

/// The digits and offset of an HL7 time stamp: `YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]`.
struct Parsed<'a> {
    digits: &'a str,
    fraction: Option<&'a str>,
    offset: Option<String>,
}

fn parse(ts: &str) -> Option<Parsed<'_>> {
    let ts = ts.trim();
    // TS has a degree-of-precision component after ^ in old versions.
    let ts = ts.split('^').next().unwrap_or(ts);
    let (main, offset) = match ts.find(['+', '-']) {
        Some(i) => {
            let off = &ts[i + 1..];
            if off.len() != 4 || !off.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hours: u32 = off[..2].parse().ok()?;
            let minutes: u32 = off[2..].parse().ok()?;
            if hours > 14 || minutes > 59 {
                return None;
            }
            (
                &ts[..i],
                Some(format!("{}{}:{}", &ts[i..=i], &off[..2], &off[2..])),
            )
        }
        None => (ts, None),
    };
    let (digits, fraction) = match main.split_once('.') {
        Some((d, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => (d, Some(f)),
        Some(_) => return None,
        None => (main, None),
    };
    if !matches!(digits.len(), 4 | 6 | 8 | 10 | 12 | 14)
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| digits.get(r).and_then(|s| s.parse::<u32>().ok());
    if let Some(m) = n(4..6) {
        if !(1..=12).contains(&m) {
            return None;
        }
    }
    if let Some(d) = n(6..8) {
        if !(1..=31).contains(&d) {
            return None;
        }
    }
    if n(8..10).is_some_and(|h| h > 23)
        || n(10..12).is_some_and(|m| m > 59)
        || n(12..14).is_some_and(|s| s > 59)
    {
        return None;
    }
    Some(Parsed {
        digits,
        fraction,
        offset,
    })
}

fn date_part(d: &str) -> String {
    match d.len() {
        4 => d.to_owned(),
        6 => format!("{}-{}", &d[..4], &d[4..6]),
        _ => format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..8]),
    }
}

impl Time {
    /// FHIR `date` (YYYY, YYYY-MM or YYYY-MM-DD), or None when the text is not an HL7 date.
    pub(crate) fn date(&self, ts: &str) -> Option<String> {
        parse(ts).map(|p| date_part(p.digits))
    }

    /// FHIR `dateTime`: the HL7 precision kept; a time of day needs an offset (the value's own or
    /// the configured default), otherwise only the date is kept.
    pub(crate) fn date_time(&self, ts: &str) -> Option<String> {
        let p = parse(ts)?;
        if p.digits.len() <= 8 {
            return Some(date_part(p.digits));
        }
        let Some(offset) = p.offset.or_else(|| self.default_offset.clone()) else {
            return Some(date_part(p.digits));
        };
        let d = p.digits;
        let hh = &d[8..10];
        let mm = d.get(10..12).unwrap_or("00");
        let ss = d.get(12..14).unwrap_or("00");
        let frac = p
            .fraction
            .filter(|_| d.len() == 14)
            .map(|f| format!(".{f}"))
            .unwrap_or_default();
        let offset = if offset == "+00:00" {
            "Z".to_owned()
        } else {
            offset
        };
        Some(format!("{}T{hh}:{mm}:{ss}{frac}{offset}", date_part(d)))
    }

    /// FHIR `instant`: only for values precise to the second, with an offset.
    pub(crate) fn instant(&self, ts: &str) -> Option<String> {
        let p = parse(ts)?;
        (p.digits.len() == 14 && (p.offset.is_some() || self.default_offset.is_some()))
            .then(|| self.date_time(ts))
            .flatten()
    }
}

/// CX -> Identifier (value, system from the assigning authority's OID or namespace, type from table
/// 0203, period).
pub(crate) fn identifier(rep: &Rep<'_>, time: &Time) -> Option<Json> {
    let value = rep
        .c(1)
        .or_else(|| rep.whole().filter(|w| !w.contains('^')))?;
    let mut id = JsonMap::new();
    // CX.4 is an HD: namespace^universal id^universal id type.
    match (rep.s(4, 2), rep.s(4, 3).map(|t| t.to_ascii_uppercase())) {
        (Some(oid), Some(t)) if t == "ISO" => {
            id.insert("system".into(), json!(format!("urn:oid:{oid}")));
        }
        (Some(uri), Some(t)) if t == "URI" => {
            id.insert("system".into(), Json::from(uri));
        }
        _ => {}
    }
    if let Some(ty) = rep.c(5) {
        id.insert("type".into(), concept(v2_table("0203"), &ty, None));
    }
    id.insert("value".into(), Json::from(value));
    if let Some(p) = period(
        rep.c(7).and_then(|t| time.date_time(&t)),
        rep.c(8).and_then(|t| time.date_time(&t)),
    ) {
        id.insert("period".into(), p);
    }
    if let Some(ns) = rep.s(4, 1) {
        id.insert("assigner".into(), json!({ "display": ns }));
    }
    Some(Json::Object(id))
}

/// An HL7 TM (`HH[MM[SS[.S]]]`, an offset ignored), or the `HH:MM[:SS]` some senders write, as a
/// FHIR time (`hh:mm:ss`); None for anything else or an hour, minute or second out of range.
pub(crate) fn time_of_day(t: &str) -> Option<String> {
    let t = t.trim();
    let clock = t.split(['+', '-', '.']).next()?;
    let digits: String = clock.chars().filter(|c| *c != ':').collect();
    let colons_ok = !clock.contains(':')
        || clock.split(':').all(|p| p.len() == 2) && clock.split(':').count() <= 3;
    if !colons_ok
        || !matches!(digits.len(), 2 | 4 | 6)
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let part = |r: std::ops::Range<usize>| digits.get(r).map_or(Ok(0), str::parse::<u8>);
    let (h, m, s) = (part(0..2).ok()?, part(2..4).ok()?, part(4..6).ok()?);
    (h < 24 && m < 60 && s < 60).then(|| format!("{h:02}:{m:02}:{s:02}"))
}

/// A moment or a span as FHIR's `<name>[x]`: `<name>DateTime` for a start alone, `<name>Period` for
/// an end (with or without a start); nothing for neither.
pub(crate) fn time_or_period(
    map: &mut JsonMap,
    name: &str,
    start: Option<String>,
    end: Option<String>,
) {
    match (start, end) {
        (Some(s), None) => {
            map.insert(format!("{name}DateTime").into(), Json::from(s));
        }
        (s, e) => {
            if let Some(p) = period(s, e) {
                map.insert(format!("{name}Period").into(), p);
            }
        }
    }
}

/// A Period from its start and end dateTimes, or None when both are absent.
pub(crate) fn period(start: Option<String>, end: Option<String>) -> Option<Json> {
    if start.is_none() && end.is_none() {
        return None;
    }
    let mut p = JsonMap::new();
    if let Some(s) = start {
        p.insert("start".into(), Json::from(s));
    }
    if let Some(e) = end {
        p.insert("end".into(), Json::from(e));
    }
    Some(Json::Object(p))
}

/// XPN (or the name part of XCN, starting at `first`) -> HumanName.
pub(crate) fn human_name(
    rep: &Rep<'_>,
    first: usize,
    use_component: Option<usize>,
) -> Option<Json> {
    let family = rep.s(first, 1).or_else(|| rep.c(first));
    let given: Vec<Json> = [rep.c(first + 1), rep.c(first + 2)]
        .into_iter()
        .flatten()
        .map(Json::from)
        .collect();
    if family.is_none() && given.is_empty() {
        return None;
    }
    let mut n = JsonMap::new();
    if let Some(u) = use_component.and_then(|c| rep.c(c)) {
        let name_use = match u.as_str() {
            "L" | "OR" => Some("official"),
            "D" | "U" => Some("usual"),
            "M" | "B" => Some("maiden"),
            "N" => Some("nickname"),
            "A" | "S" | "P" => Some("anonymous"),
            "TEMP" => Some("temp"),
            "BAD" => Some("old"),
            _ => None,
        };
        if let Some(x) = name_use {
            n.insert("use".into(), Json::from(x));
        }
    }
    if let Some(f) = family {
        n.insert("family".into(), Json::from(f));
    }
    if !given.is_empty() {
        n.insert("given".into(), Json::Array(given));
    }
    if let Some(s) = rep.c(first + 3) {
        n.insert("suffix".into(), json!([s]));
    }
    if let Some(p) = rep.c(first + 4) {
        n.insert("prefix".into(), json!([p]));
    }
    Some(Json::Object(n))
}

/// XAD -> Address.
pub(crate) fn address(rep: &Rep<'_>) -> Option<Json> {
    let mut a = JsonMap::new();
    // XAD.1 is an SAD: street address, street name, dwelling number; senders split a line across
    // them, so its parts are joined.
    let street: Vec<String> = (1..=3).filter_map(|s| rep.s(1, s)).collect();
    let street = (!street.is_empty()).then(|| street.join(" "));
    let lines: Vec<Json> = [street, rep.c(2)]
        .into_iter()
        .flatten()
        .map(Json::from)
        .collect();
    if let Some(t) = rep.c(7) {
        let (use_, ty) = match t.as_str() {
            "H" | "HP" => (Some("home"), None),
            "B" | "O" => (Some("work"), None),
            "C" => (Some("temp"), None),
            "BA" | "BDL" | "BR" => (Some("old"), None),
            "M" => (None, Some("postal")),
            "SH" => (None, Some("physical")),
            _ => (None, None),
        };
        if let Some(u) = use_ {
            a.insert("use".into(), Json::from(u));
        }
        if let Some(t) = ty {
            a.insert("type".into(), Json::from(t));
        }
    }
    if !lines.is_empty() {
        a.insert("line".into(), Json::Array(lines));
    }
    for (comp, key) in [
        (3, "city"),
        (9, "district"),
        (4, "state"),
        (5, "postalCode"),
        (6, "country"),
    ] {
        // County (9) is a CWE in later versions: its code is the first subcomponent.
        if let Some(v) = rep.s(comp, 1) {
            a.insert(key.into(), json!(v.trim()));
        }
    }
    let has_content = a.keys().any(|k| k != "use" && k != "type");
    has_content.then_some(Json::Object(a))
}

/// XTN -> ContactPoint. `default_use` applies when XTN.2 says nothing (PID-13 is home, PID-14 work).
pub(crate) fn contact_point(rep: &Rep<'_>, default_use: Option<&str>) -> Option<Json> {
    let equipment = rep.c(3).unwrap_or_default();
    let system = match equipment.as_str() {
        "Internet" | "X.400" | "NET" => "email",
        "FX" => "fax",
        "BP" => "pager",
        "PH" | "CP" | "SAT" | "" => "phone",
        _ => "other",
    };
    let value = if system == "email" {
        rep.c(4).or_else(|| rep.c(1))
    } else {
        let local = rep.c(7);
        match (rep.c(5), rep.c(6), local) {
            (cc, area, Some(local)) => {
                let mut v = String::new();
                if let Some(cc) = cc {
                    v.push('+');
                    v.push_str(&cc);
                    v.push(' ');
                }
                if let Some(area) = area {
                    v.push('(');
                    v.push_str(&area);
                    v.push_str(") ");
                }
                v.push_str(&local);
                if let Some(ext) = rep.c(8) {
                    v.push_str(" ext. ");
                    v.push_str(&ext);
                }
                Some(v)
            }
            _ => rep.c(1),
        }
    }?;
    let mut cp = JsonMap::new();
    cp.insert("system".into(), Json::from(system));
    cp.insert("value".into(), Json::from(value));
    let use_ = match (rep.c(2).as_deref(), equipment.as_str()) {
        (_, "CP") => Some("mobile"),
        (Some("PRN") | Some("VHN"), _) => Some("home"),
        (Some("WPN"), _) => Some("work"),
        (Some("ORN") | Some("EMR") | Some("ASN"), _) => Some("temp"),
        (Some("BPN"), _) => Some("work"),
        (None, _) => default_use,
        _ => None,
    };
    if let Some(u) = use_ {
        cp.insert("use".into(), Json::from(u));
    }
    Some(Json::Object(cp))
}

/// A decimal number as FHIR JSON (a number), or None when the text is not one.
pub(crate) fn decimal(text: &str) -> Option<Json> {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let valid = !t.is_empty()
        && t.bytes().filter(|b| *b == b'.').count() <= 1
        && t.trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.')
        && t.trim_start_matches('-')
            .bytes()
            .any(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    serde_json::from_str::<serde_json::Number>(t)
        .ok()
        .or_else(|| t.parse::<f64>().ok().and_then(serde_json::Number::from_f64))
        .map(Json::Number)
}

/// A Quantity of `value` in the units of a CWE (UCUM when the units say so).
pub(crate) fn quantity(value: Json, units: Option<&Rep<'_>>) -> Json {
    match units {
        Some(u) => quantity_in(value, u.c(1).or_else(|| u.whole()), u.c(2), u.c(3)),
        None => quantity_in(value, None, None, None),
    }
}

/// A Quantity of `value` in units given by their code, text and coding system (a CWE's first
/// three parts, as components or subcomponents): the text (else the code) as `unit`, the code as a
/// UCUM `code` when the system is UCUM (`ANS+` is HL7's name for it).
pub(crate) fn quantity_in(
    value: Json,
    code: Option<String>,
    display: Option<String>,
    system: Option<String>,
) -> Json {
    let mut q = JsonMap::new();
    q.insert("value".into(), value);
    let is_ucum = system
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("UCUM") || s.eq_ignore_ascii_case("ANS+"));
    if let Some(unit) = display.or_else(|| code.clone()) {
        q.insert("unit".into(), Json::from(unit));
    }
    if let (true, Some(c)) = (is_ucum, code) {
        q.insert("system".into(), json!("http://unitsofmeasure.org"));
        q.insert("code".into(), Json::from(c));
    }
    Json::Object(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_keep_their_precision() {
        let t = Time {
            default_offset: None,
        };
        assert_eq!(t.date("19600215").as_deref(), Some("1960-02-15"));
        assert_eq!(t.date("196002").as_deref(), Some("1960-02"));
        assert_eq!(
            t.date_time("198808181126+0215").as_deref(),
            Some("1988-08-18T11:26:00+02:15")
        );
        assert_eq!(
            t.date_time("20210817151943.4+0200").as_deref(),
            Some("2021-08-17T15:19:43.4+02:00")
        );
        assert_eq!(t.date_time("20240301083000").as_deref(), Some("2024-03-01"));
        assert_eq!(t.instant("20240301083000"), None);
        let z = Time {
            default_offset: Some("-05:00".into()),
        };
        assert_eq!(
            z.date_time("20240301083000").as_deref(),
            Some("2024-03-01T08:30:00-05:00")
        );
        assert_eq!(
            z.instant("20240301083000+0000").as_deref(),
            Some("2024-03-01T08:30:00Z")
        );
        assert_eq!(t.date("2024-03-01"), None);
        assert_eq!(t.date("20241301"), None);
        assert_eq!(t.date_time("202403011260"), None);
    }

    #[test]
    fn times_of_day() {
        assert_eq!(time_of_day("1230").as_deref(), Some("12:30:00"));
        assert_eq!(time_of_day("083005.25+0100").as_deref(), Some("08:30:05"));
        assert_eq!(time_of_day("11:30:05").as_deref(), Some("11:30:05"));
        assert_eq!(time_of_day("07").as_deref(), Some("07:00:00"));
        assert_eq!(time_of_day("2460"), None);
        assert_eq!(time_of_day("1:30"), None);
        assert_eq!(time_of_day("noon"), None);
        assert_eq!(time_of_day(""), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(decimal("7.2"), Some(json!(7.2)));
        assert_eq!(decimal("-3"), Some(json!(-3)));
        assert_eq!(decimal("+140"), Some(json!(140)));
        assert_eq!(decimal("1.2.3"), None);
        assert_eq!(decimal("<5"), None);
        assert_eq!(decimal(""), None);
    }
}
