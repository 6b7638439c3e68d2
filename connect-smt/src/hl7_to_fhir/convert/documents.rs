//! Documents: MDM's TXA and OBX as the DocumentReference.

use super::*;

impl<'a> Builder<'a> {
    /// MDM's TXA and OBX as the IG's DocumentReference: type (TXA-2), status (TXA-19), docStatus
    /// (TXA-17, table 0271), masterIdentifier (TXA-12), identifier (TXA-16), date (TXA-6), author
    /// (TXA-9), authenticator (TXA-10), description (TXA-25), and the content: each OBX's ED as an
    /// attachment of its MIME type, the TX/FT/ST lines as one `text/plain` attachment. Left out
    /// (and noted) when there is no content and TXA-3 names no presentation.
    pub(super) fn document(
        &mut self,
        patient: &str,
        encounter: Option<&str>,
    ) -> Result<(), Unmappable> {
        use base64::Engine;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let txa = self.seg("TXA", 1);
        let mut contents: Vec<Json> = Vec::new();
        let mut text_lines: Vec<String> = Vec::new();
        for occ in (1..).map_while(|o| self.msg.segment("OBX", o).map(|_| o)) {
            let obx = self.seg("OBX", occ);
            match obx.f(2).as_deref() {
                Some("ED") => {
                    let Some(ed) = obx.rep(5) else { continue };
                    let mut att = JsonMap::new();
                    if let (Some(ty), Some(sub)) = (ed.c(2), ed.c(3)) {
                        att.insert(
                            "contentType".into(),
                            json!(format!("{ty}/{sub}").to_ascii_lowercase()),
                        );
                    }
                    if let Some(data) = ed.c(5) {
                        let encoded = match ed.c(4).as_deref().map(str::to_ascii_uppercase) {
                            Some(e) if e == "BASE64" => data,
                            _ => b64(data.as_bytes()),
                        };
                        att.insert("data".into(), Json::from(encoded));
                    }
                    if let Some(title) = obx.rep(3).and_then(|r| r.c(2)) {
                        att.insert("title".into(), Json::from(title));
                    }
                    // R4: data needs its contentType.
                    if att.contains_key("data") && !att.contains_key("contentType") {
                        att.insert("contentType".into(), json!("application/octet-stream"));
                    }
                    if !att.is_empty() {
                        contents.push(json!({ "attachment": att }));
                    }
                }
                Some("TX" | "FT" | "ST") => {
                    text_lines.extend(obx.reps(5).iter().filter_map(|r| r.whole()));
                }
                _ => {}
            }
        }
        if !text_lines.is_empty() {
            contents.push(json!({ "attachment": {
                "contentType": "text/plain",
                "data": b64(text_lines.join("\n").as_bytes())
            } }));
        }
        if contents.is_empty() {
            match txa.f(3).as_deref() {
                Some("TX" | "FT") => {
                    contents.push(json!({ "attachment": { "contentType": "text/plain" } }))
                }
                _ => {
                    return self.unmappable(
                        "TXA: no document content (OBX ED or text) and no presentation (TXA-3)"
                            .into(),
                    )
                }
            }
        }
        let mut d = JsonMap::new();
        if let Some(master) = txa.rep(12).and_then(|r| {
            let mut i = json!({ "value": r.c(1)? });
            if let (Some(oid), Some("ISO")) = (r.c(3), r.c(4).as_deref()) {
                i["system"] = json!(format!("urn:oid:{oid}"));
            }
            Some(i)
        }) {
            d.insert("masterIdentifier".into(), master);
        }
        if let Some(file) = txa.f(16) {
            d.insert("identifier".into(), json!([{ "value": file }]));
        }
        let status = match txa.f(19).as_deref() {
            Some("OB") => "superseded",
            Some("CA") => "entered-in-error",
            _ => "current",
        };
        d.insert("status".into(), Json::from(status));
        let doc_status = match txa.f(17).as_deref() {
            Some("AU" | "LA") => Some("final"),
            Some("DI" | "DO" | "IP" | "IN" | "PA") => Some("preliminary"),
            _ => None,
        };
        if let Some(ds) = doc_status {
            d.insert("docStatus".into(), Json::from(ds));
        }
        if let Some(ty) = txa
            .rep(2)
            .and_then(|r| codeable(&r, Some(v2_table("0270"))))
        {
            d.insert("type".into(), ty);
        }
        d.insert("subject".into(), reference(patient));
        if let Some(date) = txa
            .f(6)
            .and_then(|t| self.opts.time.date_time(&t))
            .filter(|t| t.contains('T'))
        {
            d.insert("date".into(), Json::from(date));
        }
        let authors: Vec<Json> = txa
            .reps(9)
            .iter()
            .filter_map(|r| self.practitioner(r))
            .map(|p| reference(&p))
            .collect();
        if !authors.is_empty() {
            d.insert("author".into(), Json::Array(authors));
        }
        if let Some(a) = txa.rep(10).and_then(|r| self.practitioner(&r)) {
            d.insert("authenticator".into(), reference(&a));
        }
        if let Some(title) = txa.f(25) {
            d.insert("description".into(), Json::from(title));
        }
        d.insert("content".into(), Json::Array(contents));
        if let Some(e) = encounter {
            d.insert("context".into(), json!({ "encounter": [reference(e)] }));
        }
        let id = match d.get("masterIdentifier").and_then(|m| m["value"].as_str()) {
            Some(v) => uuid_of(format_args!("DocumentReference|{v}")),
            None => self.id_for("DocumentReference", "TXA"),
        };
        self.add("DocumentReference", id, d);
        Ok(())
    }
}
