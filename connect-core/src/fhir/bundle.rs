//! Bundles read without a tree: a search or history page, or a batch/transaction response. Each
//! entry's `resource` stays a slice of the page, so a connector can pass the resource's bytes on
//! as they came, or convert only what it keeps.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// A Bundle (`searchset`, `history`, `batch-response`, `transaction-response`).
#[derive(Debug, Deserialize)]
pub struct Page<'a> {
    /// Must be `Bundle`.
    #[serde(rename = "resourceType", borrow)]
    pub resource_type: Cow<'a, str>,
    /// The Bundle's type.
    #[serde(rename = "type", default, borrow)]
    pub bundle_type: Option<Cow<'a, str>>,
    /// `link`: `self`, `next`, ...
    #[serde(default, borrow)]
    pub link: Vec<Link<'a>>,
    /// The entries, in the server's order.
    #[serde(default, borrow)]
    pub entry: Vec<Entry<'a>>,
}

/// A Bundle link.
#[derive(Debug, Deserialize)]
pub struct Link<'a> {
    /// `self`, `next`, `previous`, ...
    #[serde(borrow)]
    pub relation: Cow<'a, str>,
    /// Where it points.
    #[serde(borrow)]
    pub url: Cow<'a, str>,
}

/// One entry.
#[derive(Debug, Deserialize)]
pub struct Entry<'a> {
    /// The entry's full URL.
    #[serde(rename = "fullUrl", default, borrow)]
    pub full_url: Option<Cow<'a, str>>,
    /// The resource, as the page holds it (absent for a deleted version in a history Bundle).
    #[serde(default, borrow)]
    pub resource: Option<&'a RawValue>,
    /// `search.mode`: `match`, `include`, `outcome`.
    #[serde(default, borrow)]
    pub search: Option<Search<'a>>,
    /// The request (history and batch Bundles).
    #[serde(default, borrow)]
    pub request: Option<EntryRequest<'a>>,
    /// The response (history and batch/transaction responses).
    #[serde(default, borrow)]
    pub response: Option<EntryResponse<'a>>,
}

/// An entry's `search`.
#[derive(Debug, Deserialize)]
pub struct Search<'a> {
    /// `match`, `include` or `outcome`.
    #[serde(default, borrow)]
    pub mode: Option<Cow<'a, str>>,
}

/// An entry's `request`.
#[derive(Debug, Deserialize)]
pub struct EntryRequest<'a> {
    /// `GET`, `POST`, `PUT`, `DELETE`, ...
    #[serde(borrow)]
    pub method: Cow<'a, str>,
    /// `Patient/123`, ...
    #[serde(borrow)]
    pub url: Cow<'a, str>,
}

/// An entry's `response`.
#[derive(Debug, Deserialize)]
pub struct EntryResponse<'a> {
    /// `201 Created`, `200`, `404 Not Found`, ...
    #[serde(borrow)]
    pub status: Cow<'a, str>,
    /// Where the resource now is.
    #[serde(default, borrow)]
    pub location: Option<Cow<'a, str>>,
    /// The version written, as an entity tag (`W/"3"`).
    #[serde(default, borrow)]
    pub etag: Option<Cow<'a, str>>,
    /// When it changed.
    #[serde(rename = "lastModified", default, borrow)]
    pub last_modified: Option<Cow<'a, str>>,
    /// An OperationOutcome about this entry.
    #[serde(default, borrow)]
    pub outcome: Option<&'a RawValue>,
}

/// What a connector needs of a resource: its type, id and `meta`.
#[derive(Debug, Deserialize)]
pub struct ResourceMeta<'a> {
    /// `resourceType`.
    #[serde(rename = "resourceType", borrow)]
    pub resource_type: Cow<'a, str>,
    /// `id` (absent on a resource to be created).
    #[serde(default, borrow)]
    pub id: Cow<'a, str>,
    /// `meta.versionId`.
    #[serde(skip)]
    pub version_id: Option<Cow<'a, str>>,
    /// `meta.lastUpdated`.
    #[serde(skip)]
    pub last_updated: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    meta: Option<Meta<'a>>,
}

#[derive(Debug, Deserialize)]
struct Meta<'a> {
    #[serde(rename = "versionId", default, borrow)]
    version_id: Option<Cow<'a, str>>,
    #[serde(rename = "lastUpdated", default, borrow)]
    last_updated: Option<Cow<'a, str>>,
}

impl<'a> ResourceMeta<'a> {
    /// Reads the type, id and meta of a resource's JSON.
    pub fn parse(json: &'a str) -> Result<Self, serde_json::Error> {
        let mut m: ResourceMeta<'a> = serde_json::from_str(json)?;
        if let Some(meta) = m.meta.take() {
            m.version_id = meta.version_id;
            m.last_updated = meta.last_updated;
        }
        Ok(m)
    }
}

impl<'a> Page<'a> {
    /// Parses a page. Errors say what is wrong with the JSON (a position), never quote it.
    pub fn parse(body: &'a [u8]) -> Result<Self, String> {
        let p: Page<'a> = serde_json::from_slice(body).map_err(|e| {
            format!(
                "not a FHIR Bundle (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        if p.resource_type != "Bundle" {
            return Err(format!(
                "expected a Bundle, got resourceType {}",
                short(&p.resource_type)
            ));
        }
        Ok(p)
    }

    /// The `next` link, if any.
    pub fn next(&self) -> Option<&str> {
        self.link
            .iter()
            .find(|l| l.relation == "next")
            .map(|l| l.url.as_ref())
    }
}

impl<'a> Entry<'a> {
    /// Whether a search returned this entry as a match (not an `_include` or an OperationOutcome).
    pub fn is_match(&self) -> bool {
        self.search
            .as_ref()
            .and_then(|s| s.mode.as_deref())
            .is_none_or(|m| m == "match")
    }

    /// The resource's type, id and meta, when the entry has a resource.
    pub fn meta(&self) -> Option<Result<ResourceMeta<'a>, serde_json::Error>> {
        self.resource.map(|r| ResourceMeta::parse(r.get()))
    }

    /// The version id of `response.etag` (`W/"3"` is `3`).
    pub fn etag_version(&self) -> Option<&str> {
        let e = self.response.as_ref()?.etag.as_deref()?;
        let v = e.strip_prefix("W/").unwrap_or(e).trim_matches('"');
        (!v.is_empty()).then_some(v)
    }

    /// The numeric status of `response.status` (`"201 Created"` is 201).
    pub fn status(&self) -> Option<u16> {
        let s = self.response.as_ref()?.status.trim_start();
        s.get(..3)?.parse().ok()
    }
}

/// A name from a server, shortened for messages.
fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_and_batch_entries() {
        let body = br#"{"resourceType":"Bundle","type":"history","entry":[
          {"fullUrl":"http://s/Patient/1","request":{"method":"DELETE","url":"Patient/1"},
           "response":{"status":"204 No Content","etag":"W/\"4\"","lastModified":"2026-12-01T10:00:00Z"}},
          {"resource":{"resourceType":"Patient","id":"2","meta":{"versionId":"1"}},
           "search":{"mode":"include"},"response":{"status":"201"}}]}"#;
        let p = Page::parse(body).unwrap();
        assert_eq!(p.next(), None);
        assert_eq!(p.bundle_type.as_deref(), Some("history"));
        let (a, b) = (&p.entry[0], &p.entry[1]);
        assert!(a.meta().is_none() && a.is_match());
        assert_eq!(a.request.as_ref().unwrap().method, "DELETE");
        assert_eq!((a.status(), b.status()), (Some(204), Some(201)));
        assert_eq!((a.etag_version(), b.etag_version()), (Some("4"), None));
        assert!(!b.is_match());
        let m = b.meta().unwrap().unwrap();
        assert_eq!((m.id.as_ref(), m.version_id.as_deref()), ("2", Some("1")));
        assert_eq!(
            b.resource.unwrap().get(),
            r#"{"resourceType":"Patient","id":"2","meta":{"versionId":"1"}}"#
        );
    }

    #[test]
    fn non_bundles_are_named_not_quoted() {
        let e =
            Page::parse(br#"{"resourceType":"Patient","name":[{"family":"Doe"}]}"#).unwrap_err();
        assert_eq!(e, "expected a Bundle, got resourceType Patient");
        let e = Page::parse(br#"{"resourceType":"Bundle","entry":[{"resource":"Doe"#).unwrap_err();
        assert!(
            e.starts_with("not a FHIR Bundle") && !e.contains("Doe"),
            "{e}"
        );
    }
}
