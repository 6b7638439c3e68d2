//! Allergies (AL1, IAM, IAR), diagnoses (DG1) and insurance (IN1).

use super::*;

impl<'a> Builder<'a> {
    /// IAM (ADT^A60) as the IG's AllergyIntolerance: allergen (IAM-3, with IAM-27's coding), type
    /// and severity, the allergy's own identifier (IAM-7, which also keeps its id across updates),
    /// onset (IAM-11/12), reported date and reporter (IAM-13/14/15), and the verification status
    /// from table 0438 (IAM-17). Returns the resource's id, for the IAR segments after it.
    pub(super) fn iam(&mut self, occ: usize, patient: &str) -> Result<Option<String>, Unmappable> {
        let iam = self.seg("IAM", occ);
        let Some(mut code) = iam.rep(3).and_then(|r| codeable(&r, None)) else {
            self.unmappable(format!("IAM({occ})-3: no allergen code"))?;
            return Ok(None);
        };
        if let Some(extra) = iam
            .rep(27)
            .and_then(|r| codeable(&r, None))
            .and_then(|c| c.get("coding").cloned())
        {
            if let (Some(Json::Array(codings)), Json::Array(more)) = (code.get_mut("coding"), extra)
            {
                codings.extend(more);
            }
        }
        let mut a = JsonMap::new();
        // Table 0323 action D removes the allergy from the patient's list.
        let removed = iam.c(6, 1).is_some_and(|c| c == "D");
        let verification = match iam.c(17, 1).as_deref() {
            Some("C") => Some("confirmed"),
            Some("U" | "P" | "S" | "D") => Some("unconfirmed"),
            Some("E") => Some("entered-in-error"),
            _ => None,
        };
        if verification != Some("entered-in-error") {
            a.insert(
                "clinicalStatus".into(),
                concept(
                    "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    if removed { "inactive" } else { "active" },
                    None,
                ),
            );
        }
        if let Some(v) = verification {
            a.insert(
                "verificationStatus".into(),
                concept(
                    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                    v,
                    None,
                ),
            );
        }
        allergy_category_and_criticality(&iam, &mut a);
        a.insert("code".into(), code);
        a.insert("patient".into(), reference(patient));
        let ident = iam.rep(7).and_then(|r| {
            let value = r.c(1)?;
            let mut id = json!({ "value": value });
            if let (Some(oid), Some("ISO")) = (r.c(3), r.c(4).as_deref()) {
                id["system"] = json!(format!("urn:oid:{oid}"));
            }
            Some(id)
        });
        let t = &self.opts.time;
        match iam.f(11).and_then(|d| t.date_time(&d)) {
            Some(d) => {
                a.insert("onsetDateTime".into(), Json::from(d));
            }
            None => {
                if let Some(text) = iam.f(12) {
                    a.insert("onsetString".into(), Json::from(text));
                }
            }
        }
        if let Some(d) = iam.f(13).and_then(|d| t.date_time(&d)) {
            a.insert("recordedDate".into(), Json::from(d));
        }
        let reporter = iam.rep(14).and_then(|r| human_name(&r, 1, Some(7)));
        let relation = iam.rep(15);
        let recorder = match (reporter, relation) {
            (_, Some(rel)) if rel.c(1).as_deref() == Some("SEL") => Some(patient.to_owned()),
            (Some(name), Some(rel)) => {
                let mut r = JsonMap::new();
                r.insert("patient".into(), reference(patient));
                if let Some(c) = codeable(&rel, Some(v2_table("0063"))) {
                    r.insert("relationship".into(), json!([c]));
                }
                r.insert("name".into(), json!([name]));
                let id = self.id_for("RelatedPerson", &format!("IAM{occ}"));
                Some(self.add("RelatedPerson", id, r))
            }
            (Some(name), None) => {
                let id = self.id_for("Practitioner", &format!("IAM{occ}"));
                Some(self.add(
                    "Practitioner",
                    id,
                    JsonMap::from_iter([("name", json!([name]))]),
                ))
            }
            (None, _) => None,
        };
        if let Some(r) = recorder {
            a.insert("recorder".into(), reference(&r));
        }
        if let Some(reaction) = iam.f(5) {
            a.insert(
                "reaction".into(),
                json!([{ "manifestation": [{ "text": reaction }] }]),
            );
        }
        let id = match &ident {
            Some(i) => uuid_of(format_args!(
                "AllergyIntolerance|{patient}|{}",
                i["value"].as_str().unwrap_or_default()
            )),
            None => self.id_for("AllergyIntolerance", &format!("IAM{occ}")),
        };
        if let Some(i) = ident {
            a.insert("identifier".into(), json!([i]));
        }
        Ok(Some(self.add("AllergyIntolerance", id, a)))
    }

    /// IAR (the reactions after an IAM) as a reaction of its AllergyIntolerance: manifestation
    /// (IAR-1) and severity (IAR-2, table 0128).
    pub(super) fn iar(&mut self, occ: usize, allergy: &str) {
        let iar = self.seg("IAR", occ);
        let Some(manifestation) = iar.rep(1).and_then(|r| codeable(&r, None)) else {
            return;
        };
        let mut reaction = JsonMap::new();
        reaction.insert("manifestation".into(), json!([manifestation]));
        let severity = match iar.c(2, 1).as_deref() {
            Some("MI") => Some("mild"),
            Some("MO") => Some("moderate"),
            Some("SV") => Some("severe"),
            _ => None,
        };
        if let Some(s) = severity {
            reaction.insert("severity".into(), Json::from(s));
        }
        if let Some(note) = iar.f(4) {
            reaction.insert("note".into(), json!([{ "text": note }]));
        }
        self.push_to(allergy, "reaction", Json::Object(reaction));
    }

    pub(super) fn allergy(&mut self, occ: usize, patient: &str) -> Result<(), Unmappable> {
        let al1 = self.seg("AL1", occ);
        let Some(code) = al1.rep(3).and_then(|r| codeable(&r, None)) else {
            return self.unmappable(format!("AL1({occ})-3: no allergen code"));
        };
        let mut a = JsonMap::new();
        a.insert(
            "clinicalStatus".into(),
            concept(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                "active",
                Some("Active"),
            ),
        );
        allergy_category_and_criticality(&al1, &mut a);
        a.insert("code".into(), code);
        a.insert("patient".into(), reference(patient));
        if let Some(d) = al1.f(6).and_then(|d| self.opts.time.date_time(&d)) {
            a.insert("onsetDateTime".into(), Json::from(d));
        }
        let manifestations: Vec<Json> = al1
            .reps(5)
            .iter()
            .filter_map(|r| r.whole())
            .map(|t| json!({ "text": t }))
            .collect();
        if !manifestations.is_empty() {
            a.insert(
                "reaction".into(),
                Json::Array(vec![Json::Object(JsonMap::from_iter([(
                    "manifestation",
                    Json::Array(manifestations),
                )]))]),
            );
        }
        let id = self.id_for("AllergyIntolerance", &occ.to_string());
        self.add("AllergyIntolerance", id, a);
        Ok(())
    }

    pub(super) fn condition(
        &mut self,
        occ: usize,
        patient: &str,
        encounter: Option<&str>,
    ) -> Result<(), Unmappable> {
        let dg1 = self.seg("DG1", occ);
        let code = dg1
            .rep(3)
            .and_then(|r| codeable(&r, None))
            .or_else(|| dg1.f(4).map(|t| json!({ "text": t })));
        let Some(code) = code else {
            return self.unmappable(format!("DG1({occ})-3: no diagnosis code"));
        };
        let mut c = JsonMap::new();
        condition_head(
            &mut c,
            "encounter-diagnosis",
            "Encounter Diagnosis",
            code,
            patient,
            encounter,
        );
        if let Some(d) = dg1.f(5).and_then(|d| self.opts.time.date_time(&d)) {
            c.insert("onsetDateTime".into(), Json::from(d));
        }
        let id = self.id_for("Condition", &occ.to_string());
        self.add("Condition", id, c);
        Ok(())
    }

    /// PRB (a problem list entry, PPR) as a Condition of category `problem-list-item`: code
    /// (PRB-3), identifier (PRB-4, which also keeps one id per problem across updates), clinical
    /// status (PRB-14; `resolved` when PRB-9 gives a resolution date and PRB-14 no status),
    /// verification status (PRB-13; `entered-in-error` for action DE, with no clinical status, as R4
    /// requires), onset (PRB-16, else PRB-17 as text), recorded (PRB-7), abatement (PRB-9).
    /// The IG has no PRB map; this follows its DG1 map where the two meet.
    pub(super) fn problem(
        &mut self,
        occ: usize,
        patient: &str,
        encounter: Option<&str>,
    ) -> Result<(), Unmappable> {
        let prb = self.seg("PRB", occ);
        let Some(code) = prb.rep(3).and_then(|r| codeable(&r, None)) else {
            return self.unmappable(format!("PRB({occ})-3: no problem code"));
        };
        let t = &self.opts.time;
        let instance = prb.c(4, 1);
        let deleted = prb.f(1).as_deref() == Some("DE");
        let abatement = prb.f(9).and_then(|d| t.date_time(&d));
        let clinical = match prb.c(14, 1).map(|c| c.to_ascii_lowercase()).as_deref() {
            _ if deleted => None,
            Some(
                s @ ("active" | "recurrence" | "relapse" | "inactive" | "remission" | "resolved"),
            ) => Some(s.to_owned()),
            _ if abatement.is_some() => Some("resolved".to_owned()),
            _ => None,
        };
        let verification = match prb.c(13, 1).map(|c| c.to_ascii_lowercase()).as_deref() {
            _ if deleted => Some("entered-in-error".to_owned()),
            Some(
                s @ ("unconfirmed" | "provisional" | "differential" | "confirmed" | "refuted"),
            ) => Some(s.to_owned()),
            _ => None,
        };
        let mut c = JsonMap::new();
        if let Some(i) = &instance {
            c.insert("identifier".into(), json!([{ "value": i.as_str() }]));
        }
        if let Some(s) = &clinical {
            c.insert(
                "clinicalStatus".into(),
                concept(
                    "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    s,
                    None,
                ),
            );
        }
        if let Some(v) = &verification {
            c.insert(
                "verificationStatus".into(),
                concept(
                    "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    v,
                    None,
                ),
            );
        }
        condition_head(
            &mut c,
            "problem-list-item",
            "Problem List Item",
            code,
            patient,
            encounter,
        );
        match (prb.f(16).and_then(|d| t.date_time(&d)), prb.f(17)) {
            (Some(d), _) => {
                c.insert("onsetDateTime".into(), Json::from(d));
            }
            (None, Some(text)) => {
                c.insert("onsetString".into(), Json::from(text));
            }
            (None, None) => {}
        }
        // R4: an abatement only for a problem no longer active (con-4).
        if let (Some(a), Some("inactive" | "remission" | "resolved")) =
            (abatement, clinical.as_deref())
        {
            c.insert("abatementDateTime".into(), Json::from(a));
        }
        if let Some(d) = prb.f(7).and_then(|d| t.date_time(&d)) {
            c.insert("recordedDate".into(), Json::from(d));
        }
        let id = match &instance {
            Some(i) => uuid_of(format_args!("Condition|{patient}|problem|{i}")),
            None => self.id_for("Condition", &format!("PRB{occ}")),
        };
        self.add("Condition", id, c);
        Ok(())
    }

    pub(super) fn coverage(&mut self, occ: usize, patient: &str) -> Result<(), Unmappable> {
        let in1 = self.seg("IN1", occ);
        let opts = self.opts;
        let t = &opts.time;
        let company_ids: Vec<Json> = in1
            .reps(3)
            .iter()
            .filter_map(|r| identifier(r, t))
            .collect();
        let company_name = in1.rep(4).and_then(|r| r.c(1).or_else(|| r.whole()));
        if company_ids.is_empty() && company_name.is_none() {
            return self.unmappable(format!(
                "IN1({occ})-3/4: no insurance company (Coverage.payor)"
            ));
        }
        let mut org = JsonMap::new();
        if !company_ids.is_empty() {
            org.insert("identifier".into(), Json::Array(company_ids.clone()));
        }
        if let Some(n) = &company_name {
            org.insert("name".into(), Json::from(n.as_str()));
        }
        let org_key = company_ids
            .first()
            .and_then(|i| i.get("value"))
            .and_then(Json::as_str)
            .map(str::to_owned)
            .or(company_name)
            .unwrap_or_default();
        let org_id = self.add(
            "Organization",
            uuid_of(format_args!("Organization|{org_key}")),
            org,
        );
        let mut c = JsonMap::new();
        if let Some(policy) = in1.f(36) {
            c.insert("identifier".into(), json!([{ "value": policy }]));
        }
        c.insert("status".into(), json!("active"));
        if let Some(ty) = in1
            .rep(15)
            .and_then(|r| codeable(&r, Some(v2_table("0086"))))
        {
            c.insert("type".into(), ty);
        }
        if let Some(sub) = in1.rep(49).and_then(|r| r.c(1)) {
            c.insert("subscriberId".into(), Json::from(sub));
        }
        c.insert("beneficiary".into(), reference(patient));
        if let Some(rel) = in1
            .rep(17)
            .and_then(|r| codeable(&r, Some(v2_table("0063"))))
        {
            c.insert("relationship".into(), rel);
        }
        if let Some(p) = period(
            in1.f(12).and_then(|d| t.date_time(&d)),
            in1.f(13).and_then(|d| t.date_time(&d)),
        ) {
            c.insert("period".into(), p);
        }
        c.insert("payor".into(), Json::Array(vec![reference(&org_id)]));
        let id = self.id_for("Coverage", &occ.to_string());
        self.add("Coverage", id, c);
        Ok(())
    }
}

/// AllergyIntolerance.category from an allergen type (AL1-2, IAM-2; table 0127) and .criticality
/// from a severity (AL1-4, IAM-4; table 0128), where the codes have a FHIR counterpart.
fn allergy_category_and_criticality(seg: &Seg<'_>, a: &mut JsonMap) {
    if let Some(cat) = seg.c(2, 1).or_else(|| seg.f(2)) {
        let category = match cat.as_str() {
            "DA" | "MA" => Some("medication"),
            "FA" => Some("food"),
            "EA" | "LA" | "AA" | "PA" => Some("environment"),
            _ => None,
        };
        if let Some(c) = category {
            a.insert("category".into(), json!([c]));
        }
    }
    if let Some(sev) = seg.c(4, 1).or_else(|| seg.f(4)) {
        let crit = match sev.as_str() {
            "SV" => Some("high"),
            "MO" | "MI" => Some("low"),
            "U" => Some("unable-to-assess"),
            _ => None,
        };
        if let Some(c) = crit {
            a.insert("criticality".into(), Json::from(c));
        }
    }
}

/// A Condition's category (from condition-category), code, subject and encounter.
fn condition_head(
    c: &mut JsonMap,
    category: &str,
    display: &str,
    code: Json,
    patient: &str,
    encounter: Option<&str>,
) {
    c.insert(
        "category".into(),
        json!([concept(
            "http://terminology.hl7.org/CodeSystem/condition-category",
            category,
            Some(display)
        )]),
    );
    c.insert("code".into(), code);
    c.insert("subject".into(), reference(patient));
    if let Some(e) = encounter {
        c.insert("encounter".into(), reference(e));
    }
}
