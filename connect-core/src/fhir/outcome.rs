//! OperationOutcome summaries for error messages and DLQ headers.
//!
//! A server's `diagnostics` and `details.text` are free text that often quotes the offending value
//! (`Invalid date '1961-13-04'`), so they are kept apart: [`OutcomeSummary`]'s `Display` gives only
//! each issue's severity, code and FHIRPath location; [`OutcomeSummary::with_diagnostics`] adds the
//! text, for connectors configured with `errors.log.include.messages=true`.

use std::fmt;

use serde::Deserialize;

/// Issues beyond this many are counted, not listed.
const MAX_ISSUES: usize = 5;
/// Each diagnostics text is cut to this many characters.
const MAX_TEXT: usize = 200;
/// Each location is cut to this many characters.
const MAX_LOCATION: usize = 120;

#[derive(Deserialize)]
struct Outcome {
    #[serde(rename = "resourceType")]
    resource_type: String,
    #[serde(default)]
    issue: Vec<RawIssue>,
}

#[derive(Deserialize)]
struct RawIssue {
    #[serde(default)]
    severity: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    diagnostics: Option<String>,
    #[serde(default)]
    details: Option<Details>,
    #[serde(default)]
    expression: Vec<String>,
    #[serde(default)]
    location: Vec<String>,
}

#[derive(Deserialize)]
struct Details {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    coding: Vec<Coding>,
}

#[derive(Deserialize)]
struct Coding {
    #[serde(default)]
    code: Option<String>,
}

/// One issue of an OperationOutcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// `fatal`, `error`, `warning` or `information`.
    pub severity: String,
    /// The issue type code (`invalid`, `not-found`, `conflict`, ...), plus the first
    /// `details.coding.code` after a slash when there is one.
    pub code: String,
    /// `expression` (or the older `location`): where in the resource, as a path.
    pub location: Option<String>,
    /// `diagnostics` or `details.text`: free text that may quote data.
    pub text: Option<String>,
}

/// The issues of an OperationOutcome, bounded in number and length.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutcomeSummary {
    /// The first issues.
    pub issues: Vec<Issue>,
    /// How many issues were not kept.
    pub more: usize,
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

impl OutcomeSummary {
    /// Reads an OperationOutcome; `None` when `body` is not one (an HTML error page, say).
    pub fn parse(body: &[u8]) -> Option<Self> {
        let o: Outcome = serde_json::from_slice(body).ok()?;
        Self::from_outcome(o)
    }

    /// Reads an OperationOutcome from an already separated JSON value (a batch entry's
    /// `response.outcome`).
    pub fn parse_raw(raw: &serde_json::value::RawValue) -> Option<Self> {
        Self::parse(raw.get().as_bytes())
    }

    fn from_outcome(o: Outcome) -> Option<Self> {
        if o.resource_type != "OperationOutcome" {
            return None;
        }
        let more = o.issue.len().saturating_sub(MAX_ISSUES);
        let issues = o
            .issue
            .into_iter()
            .take(MAX_ISSUES)
            .map(|i| {
                let detail = i
                    .details
                    .as_ref()
                    .and_then(|d| d.coding.iter().find_map(|c| c.code.clone()));
                let code = match detail {
                    Some(d) => format!("{}/{}", cut(&i.code, 40), cut(&d, 40)),
                    None => cut(&i.code, 40),
                };
                Issue {
                    severity: cut(&i.severity, 12),
                    code,
                    location: i
                        .expression
                        .first()
                        .or(i.location.first())
                        .map(|l| cut(l, MAX_LOCATION)),
                    text: i
                        .diagnostics
                        .or(i.details.and_then(|d| d.text))
                        .map(|t| cut(&t, MAX_TEXT)),
                }
            })
            .collect();
        Some(OutcomeSummary { issues, more })
    }

    /// The summary with each issue's free text (only where messages may be logged).
    pub fn with_diagnostics(&self) -> String {
        let mut s = self.to_string();
        for (n, t) in self
            .issues
            .iter()
            .enumerate()
            .filter_map(|(n, i)| Some((n, i.text.as_deref()?)))
        {
            s.push_str(&format!("; issue {}: {t}", n + 1));
        }
        s
    }
}

impl fmt::Display for OutcomeSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.issues.is_empty() {
            return f.write_str("OperationOutcome with no issue");
        }
        for (n, i) in self.issues.iter().enumerate() {
            if n > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} {}", i.severity, i.code)?;
            if let Some(l) = &i.location {
                write!(f, " at {l}")?;
            }
        }
        if self.more > 0 {
            write!(f, " (and {} more)", self.more)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_paths_without_the_text_unless_asked() {
        let body = br#"{"resourceType":"OperationOutcome","issue":[
            {"severity":"error","code":"invalid","diagnostics":"Invalid date '1961-13-04' for Jane Doe",
             "expression":["Patient.birthDate"]},
            {"severity":"error","code":"processing","details":{"coding":[{"code":"MSG_PARAM_INVALID"}],"text":"SSN 123-45-6789"}}]}"#;
        let s = OutcomeSummary::parse(body).unwrap();
        let plain = s.to_string();
        assert_eq!(
            plain,
            "error invalid at Patient.birthDate, error processing/MSG_PARAM_INVALID"
        );
        assert!(!plain.contains("Jane") && !plain.contains("123-45"));
        let full = s.with_diagnostics();
        assert!(
            full.contains("Jane Doe") && full.contains("issue 2: SSN"),
            "{full}"
        );
    }

    #[test]
    fn other_bodies_and_long_lists_are_bounded() {
        assert_eq!(OutcomeSummary::parse(b"<html>502</html>"), None);
        assert_eq!(
            OutcomeSummary::parse(br#"{"resourceType":"Patient"}"#),
            None
        );
        let many: Vec<String> = (0..50)
            .map(|i| {
                format!(
                    r#"{{"severity":"error","code":"c{i}","diagnostics":"{}"}}"#,
                    "x".repeat(5000)
                )
            })
            .collect();
        let body = format!(
            r#"{{"resourceType":"OperationOutcome","issue":[{}]}}"#,
            many.join(",")
        );
        let s = OutcomeSummary::parse(body.as_bytes()).unwrap();
        assert_eq!((s.issues.len(), s.more), (5, 45));
        assert!(s.with_diagnostics().len() < 2_000);
        assert!(s.to_string().ends_with("(and 45 more)"));
    }
}
