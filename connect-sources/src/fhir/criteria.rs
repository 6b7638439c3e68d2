//! `fhir.subscription.criteria`: the search each poll runs, as the seed writes it
//! (`Patient?_lastUpdated=gt${timestamp}`).
//!
//! The connector owns three parameters and writes them itself: `_lastUpdated` (always
//! `ge<watermark>`: inclusive, so resources that share the watermark's instant are read again and
//! de-duplicated rather than lost, which `gt` would do), `_sort=_lastUpdated` and `_count`. A
//! `_lastUpdated` with the `${timestamp}` placeholder is therefore dropped; one with a fixed value
//! is a filter of the user's and kept. A `_count` in the criteria sets the page size. Every other
//! parameter is kept as written (already URL-encoded).

pub use connect_core::fhir::is_resource_type as is_type_name;

/// The parsed criteria.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criteria {
    /// The resource type the criteria names, or None for `${resourceType}` / no type (all types).
    pub resource_type: Option<String>,
    /// The kept parameters, `name=value`, in order.
    pub params: Vec<String>,
    /// `_count` from the criteria.
    pub count: Option<u32>,
}

/// The placeholder the watermark replaces.
pub const TIMESTAMP: &str = "${timestamp}";
/// The placeholder of a type.
pub const RESOURCE_TYPE: &str = "${resourceType}";

impl Criteria {
    /// Parses criteria; the error says what is wrong without the value.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (ty, query) = match text.split_once('?') {
            Some((t, q)) => (t.trim().trim_matches('/'), q),
            None => (text.trim_matches('/'), ""),
        };
        let resource_type = match ty {
            "" | RESOURCE_TYPE => None,
            t if is_type_name(t) => Some(t.to_owned()),
            _ => {
                return Err(
                    "must start with a resource type (Patient?...) or ${resourceType}?".into(),
                )
            }
        };
        let mut params = Vec::new();
        let mut count = None;
        for p in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            let base = name.split(':').next().unwrap_or(name);
            match base {
                "_lastUpdated" if value.contains(TIMESTAMP) => {}
                "_sort" => {}
                "_count" => {
                    count = Some(
                        value
                            .parse::<u32>()
                            .ok()
                            .filter(|n| (1..=10_000).contains(n))
                            .ok_or("has a _count that is not a number from 1 to 10000")?,
                    );
                }
                _ if value.contains(TIMESTAMP) => {
                    return Err(format!(
                        "uses ${{timestamp}} in {}: only _lastUpdated takes it",
                        name.chars().take(40).collect::<String>()
                    ))
                }
                _ if p.contains(RESOURCE_TYPE) || p.contains(char::is_whitespace) => {
                    return Err("has a parameter with a placeholder or a space in it".into())
                }
                _ => params.push(p.to_owned()),
            }
        }
        Ok(Criteria {
            resource_type,
            params,
            count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_criteria_and_kept_parameters() {
        let c = Criteria::parse("Patient?_lastUpdated=gt${timestamp}").unwrap();
        assert_eq!(c.resource_type.as_deref(), Some("Patient"));
        assert!(c.params.is_empty() && c.count.is_none());
        let c = Criteria::parse(
            "${resourceType}?_lastUpdated=ge${timestamp}&organization=Organization%2F1&_count=50&_sort=-_id&_lastUpdated=lt2030-01-01",
        )
        .unwrap();
        assert_eq!(c.resource_type, None);
        assert_eq!(
            c.params,
            ["organization=Organization%2F1", "_lastUpdated=lt2030-01-01"]
        );
        assert_eq!(c.count, Some(50));
    }

    #[test]
    fn bad_criteria_are_explained() {
        for bad in [
            "patient?x=1",
            "Patient?_count=0",
            "Patient?_count=lots",
            "Patient?birthdate=${timestamp}",
            "Patient?name=a b",
        ] {
            assert!(Criteria::parse(bad).is_err(), "{bad}");
        }
        assert!(is_type_name("MedicationRequest") && !is_type_name("Patient/1"));
    }
}
