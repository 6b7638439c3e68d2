//! HL7 acknowledgements (ACK) built from the inbound message's header.

use std::time::{SystemTime, UNIX_EPOCH};

use connect_core::data::civil_from_days;
use connect_core::hl7::{escape, Message};

/// MSA-1 acknowledgement codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    /// Application Accept: the message is durable in Kafka.
    AA,
    /// Application Error: the message could not be stored; the sender should retry.
    AE,
    /// Application Reject: the message cannot be processed as sent; retrying will not help.
    AR,
}

impl AckCode {
    fn as_str(self) -> &'static str {
        match self {
            AckCode::AA => "AA",
            AckCode::AE => "AE",
            AckCode::AR => "AR",
        }
    }
}

fn now_ts() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

/// Builds the ACK for `inbound` (sender and receiver swapped, MSA-2 = its MSH-10), or a generic one when
/// the inbound message could not be parsed. `error` adds an ERR segment (HL7 table 0357 code and text).
pub fn build_ack(
    inbound: Option<&Message>,
    code: AckCode,
    ack_id: &str,
    error: Option<(&str, &str)>,
) -> Vec<u8> {
    let d = inbound.map(|m| *m.delimiters()).unwrap_or_default();
    let f = d.field as char;
    let get = |p: &str| {
        inbound
            .and_then(|m| {
                m.get_raw_at(&connect_core::hl7::Path::parse(p).ok()?)
                    .map(|b| String::from_utf8_lossy(b).into_owned())
            })
            .unwrap_or_default()
    };
    let enc = inbound
        .and_then(|m| m.get("MSH-2"))
        .unwrap_or_else(|| "^~\\&".to_owned());
    let trigger = get("MSH-9.2");
    let version = {
        let v = get("MSH-12");
        if v.is_empty() {
            "2.5".to_owned()
        } else {
            v
        }
    };
    let mut out = format!(
        "MSH{f}{enc}{f}{}{f}{}{f}{}{f}{}{f}{}{f}{f}ACK{c}{trigger}{c}ACK{f}{ack_id}{f}{}{f}{version}\rMSA{f}{}{f}{}",
        get("MSH-5"),
        get("MSH-6"),
        get("MSH-3"),
        get("MSH-4"),
        now_ts(),
        {
            let p = get("MSH-11");
            if p.is_empty() { "P".to_owned() } else { p }
        },
        code.as_str(),
        get("MSH-10"),
        c = d.component as char,
    );
    out.push('\r');
    if let Some((code_0357, text)) = error {
        let text = escape(text.as_bytes(), &d);
        out.push_str(&format!(
            "ERR{f}{f}{f}{code_0357}{c}{}{c}HL70357{f}E\r",
            String::from_utf8_lossy(&text),
            c = d.component as char
        ));
    }
    out.into_bytes()
}
