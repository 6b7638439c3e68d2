//! One resource type's read position: the watermark, the versions already emitted at it, and
//! where the current read is. Pure logic: it says which request comes next and turns each answer
//! into records; the task does the I/O.
//!
//! ## Why the reads are correct
//!
//! * **Pages that do not shift.** Each search asks for `_lastUpdated=ge<watermark>&_sort=_lastUpdated`.
//!   A `next` link that pages by a plain offset (`_offset`, `skip`, `page`) shifts when a resource
//!   earlier in the order changes during the read, which silently skips one; so after a page that
//!   moved the watermark, such a link is not followed and the next request is a new search from the
//!   new watermark (keyset paging). Cursor links (hfs's `_cursor`, HAPI's cached `_getpages`) are
//!   followed. `fhir.paging.mode` forces either way (`keyset`, `links`).
//! * **Inclusive, de-duplicated.** `ge`, not `gt`: resources that share the watermark's instant are
//!   read again, and the `(id, versionId)` pairs already emitted at or after
//!   `watermark - fhir.watermark.overlap.ms` are dropped. The overlap re-reads a window before the
//!   watermark for servers that commit transactions slightly out of order.
//! * **Offsets carry the whole position.** Every record's source offset holds the watermark and the
//!   emitted pairs in the window, so a restart mid-read (even mid-page) continues exactly: the first
//!   search re-reads from the stored watermark and drops what was emitted.
//! * **Deletes** come from `<type>/_history?_since=`: a DELETE entry becomes a tombstone unless the
//!   same read saw a newer live version of the resource (deleted, then created again). Its `since`
//!   moves to the newest entry of a completed history read and travels in the same offsets.
//!
//! Offsets: partition `{"resourceType": "Patient"}`, offset `{"lastUpdated": "<instant>", "seen":
//! ["<id>/<versionId>", ...], "deletesSince": "<instant>", "deletesSeen": [...]}`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use connect_core::converter::JsonConverter;
use connect_core::data::{Map, Value};
use connect_core::error::ConnectError;
use connect_core::fhir::bundle::{Entry, Page};
use connect_core::fhir::instant::{self, Micros};
use connect_core::fhir::FhirRequest;
use connect_core::record::{ConnectRecord, OffsetMap, SourceRecord};

use super::config::{FhirSourceConfig, PagingMode, ValueForm};

/// Pairs kept for de-duplication, per stream. More resources than this in one watermark window
/// may be emitted again after a restart (never lost).
pub const MAX_SEEN: usize = 5_000;
/// Pages in a row that bring nothing new before a read is ended (a server whose `next` links
/// never end).
pub const MAX_IDLE_PAGES: u32 = 1_000;

/// Where a type's read is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// A search: from the watermark, or following a `next` link.
    Search {
        /// The `next` link being followed.
        next: Option<String>,
        /// Pages in a row with nothing new.
        idle_pages: u32,
    },
    /// The history read for deletes.
    Deletes {
        /// The `next` link being followed.
        next: Option<String>,
        /// The newest entry seen in this read.
        newest: Option<Micros>,
        /// Pages in a row with nothing new.
        idle_pages: u32,
    },
    /// Done until the next poll interval.
    Idle,
}

/// A read position.
pub struct TypeCursor {
    /// The resource type.
    pub resource_type: String,
    partition: Arc<OffsetMap>,
    topic: String,
    params: Vec<String>,
    page_size: u32,
    overlap: Micros,
    include_deletes: bool,
    value_form: ValueForm,
    paging: PagingMode,
    base: String,
    /// The greatest `meta.lastUpdated` emitted.
    pub watermark: Option<Micros>,
    /// `id/versionId` -> lastUpdated, for what was emitted within the window.
    seen: BTreeMap<String, Micros>,
    /// Deletes are read from here on.
    pub deletes_since: Option<Micros>,
    deletes_seen: BTreeMap<String, Micros>,
    /// Ids with a live version newer than a delete in the current history read.
    live_in_read: HashMap<String, Micros>,
    /// Where the read is.
    pub phase: Phase,
}

fn bad_offset(t: &str, what: &str) -> ConnectError {
    ConnectError::other(format!(
        "the stored offset of {t} has a malformed {what}; delete the connector's offsets to read from the start"
    ))
}

fn strings(
    o: &OffsetMap,
    key: &str,
    t: &str,
    at: Micros,
) -> Result<BTreeMap<String, Micros>, ConnectError> {
    match o.get(key) {
        None => Ok(BTreeMap::new()),
        // At most MAX_SEEN pairs, however long a stored list is (the last ones: the newest).
        Some(serde_json::Value::Array(a)) => a[a.len().saturating_sub(MAX_SEEN)..]
            .iter()
            .map(|v| {
                v.as_str()
                    .map(|s| (s.to_owned(), at))
                    .ok_or_else(|| bad_offset(t, key))
            })
            .collect(),
        Some(_) => Err(bad_offset(t, key)),
    }
}

fn instant_of(o: &OffsetMap, key: &str, t: &str) -> Result<Option<Micros>, ConnectError> {
    match o.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => instant::parse(s)
            .map(Some)
            .ok_or_else(|| bad_offset(t, key)),
        Some(_) => Err(bad_offset(t, key)),
    }
}

/// The resource type and id of `Patient/123` or `Patient/123/_history/4` (relative or absolute).
fn type_and_id(url: &str) -> Option<(&str, &str)> {
    let path = url.split(['?', '#']).next()?;
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let at = parts
        .iter()
        .rposition(|p| *p == "_history")
        .unwrap_or(parts.len());
    let (ty, id) = (
        parts.get(at.checked_sub(2)?)?,
        parts.get(at.checked_sub(1)?)?,
    );
    Some((ty, id))
}

impl TypeCursor {
    /// A cursor for one type, resumed from its stored offset.
    pub fn new(
        cfg: &FhirSourceConfig,
        resource_type: &str,
        params: &[String],
        stored: Option<&OffsetMap>,
    ) -> Result<Self, ConnectError> {
        let partition: OffsetMap = [(
            "resourceType".to_owned(),
            serde_json::Value::String(resource_type.to_owned()),
        )]
        .into_iter()
        .collect();
        let mut c = TypeCursor {
            resource_type: resource_type.to_owned(),
            partition: Arc::new(partition),
            topic: cfg.topic_for(resource_type),
            params: params.to_vec(),
            page_size: cfg.page_size,
            overlap: i64::try_from(cfg.overlap.as_micros()).unwrap_or(i64::MAX),
            include_deletes: cfg.include_deletes,
            value_form: cfg.value_form,
            paging: cfg.paging,
            base: cfg.server.url.clone(),
            watermark: None,
            seen: BTreeMap::new(),
            deletes_since: None,
            deletes_seen: BTreeMap::new(),
            live_in_read: HashMap::new(),
            phase: Phase::Search {
                next: None,
                idle_pages: 0,
            },
        };
        if let Some(o) = stored {
            let t = resource_type;
            c.watermark = instant_of(o, "lastUpdated", t)?;
            c.seen = strings(o, "seen", t, c.watermark.unwrap_or(0))?;
            // Deletes just switched on: from the last emitted version on.
            c.deletes_since = instant_of(o, "deletesSince", t)?.or(c.watermark);
            c.deletes_seen = strings(o, "deletesSeen", t, c.deletes_since.unwrap_or(0))?;
        }
        Ok(c)
    }

    /// The partition this cursor's records carry.
    pub fn partition(&self) -> &Arc<OffsetMap> {
        &self.partition
    }

    /// The request for the current phase; None when idle.
    pub fn request(&self) -> Option<FhirRequest> {
        let t = &self.resource_type;
        match &self.phase {
            Phase::Idle => None,
            Phase::Search { next: Some(n), .. } | Phase::Deletes { next: Some(n), .. } => {
                Some(FhirRequest::get(self.rebase(n), format!("GET {t} page")))
            }
            Phase::Search { next: None, .. } => {
                let mut q = format!("{t}?");
                for p in &self.params {
                    q.push_str(p);
                    q.push('&');
                }
                if let Some(w) = self.watermark {
                    q.push_str("_lastUpdated=ge");
                    q.push_str(&instant::format(w.saturating_sub(self.overlap)));
                    q.push('&');
                }
                q.push_str(&format!("_sort=_lastUpdated&_count={}", self.page_size));
                Some(FhirRequest::get(q, format!("GET {t}?_lastUpdated")))
            }
            Phase::Deletes { next: None, .. } => {
                let since =
                    instant::format(self.deletes_since.unwrap_or(0).saturating_sub(self.overlap));
                Some(FhirRequest::get(
                    format!("{t}/_history?_since={since}&_count={}", self.page_size),
                    format!("GET {t}/_history"),
                ))
            }
        }
    }

    /// A `next` link on the configured server: its path and query with the configured origin, so
    /// credentials never go to another host a page names (and a server that names itself by another
    /// host name still works).
    fn rebase(&self, link: &str) -> String {
        let rest = link
            .split_once("://")
            .map(|(_, r)| r.find('/').map(|i| &r[i..]).unwrap_or("/"))
            .unwrap_or(link);
        let origin = self
            .base
            .split_once("://")
            .map(|(scheme, r)| format!("{scheme}://{}", r.split('/').next().unwrap_or(r)))
            .unwrap_or_default();
        if rest.starts_with('/') {
            format!("{origin}{rest}")
        } else {
            format!("{}/{rest}", self.base)
        }
    }

    /// Whether a `next` link is followed rather than replaced by a search from the watermark.
    fn follows(&self, link: &str) -> bool {
        match self.paging {
            PagingMode::Links => true,
            PagingMode::Keyset => false,
            PagingMode::Auto => !pages_by_offset(link),
        }
    }

    /// Starts a new read (the poll interval passed).
    pub fn begin(&mut self) {
        self.phase = Phase::Search {
            next: None,
            idle_pages: 0,
        };
    }

    fn offset(&self) -> OffsetMap {
        let mut o = OffsetMap::new();
        let list = |m: &BTreeMap<String, Micros>| {
            serde_json::Value::Array(
                m.keys()
                    .map(|k| serde_json::Value::String(k.clone()))
                    .collect(),
            )
        };
        if let Some(w) = self.watermark {
            o.insert("lastUpdated".into(), instant::format(w).into());
        }
        o.insert("seen".into(), list(&self.seen));
        if self.include_deletes {
            if let Some(d) = self.deletes_since {
                o.insert("deletesSince".into(), instant::format(d).into());
            }
            o.insert("deletesSeen".into(), list(&self.deletes_seen));
        }
        o
    }

    fn key(&self, id: &str) -> Value {
        let mut k = Map::with_capacity(2);
        k.insert("resourceType", self.resource_type.as_str());
        k.insert("id", id);
        Value::Map(k)
    }

    fn value(&self, raw: &str) -> Result<Value, ConnectError> {
        Ok(match self.value_form {
            ValueForm::Bytes => Value::Bytes(Bytes::copy_from_slice(raw.as_bytes())),
            ValueForm::Text => Value::String(raw.to_owned()),
            ValueForm::Map => {
                // The position only: serde's messages can quote the text.
                let tree: serde_json::Value = serde_json::from_str(raw).map_err(|e| {
                    ConnectError::other(format!(
                        "a {} resource is not JSON (line {}, column {})",
                        self.resource_type,
                        e.line(),
                        e.column()
                    ))
                })?;
                JsonConverter::json_into_schemaless_value(tree)
            }
        })
    }

    /// Takes one answer of the current phase: the records it brings, and the next phase. `date` is
    /// the answer's `Date` header (the server's clock), which starts the deletes of a first read.
    pub fn take_page(
        &mut self,
        body: &[u8],
        date: Option<&str>,
    ) -> Result<Vec<SourceRecord>, ConnectError> {
        let page = Page::parse(body)
            .map_err(|e| ConnectError::other(format!("{} page: {e}", self.resource_type)))?;
        match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Search { idle_pages, .. } => self.take_search(&page, date, idle_pages),
            Phase::Deletes {
                newest, idle_pages, ..
            } => self.take_history(&page, newest, idle_pages),
            Phase::Idle => Ok(vec![]),
        }
    }

    fn take_search(
        &mut self,
        page: &Page<'_>,
        date: Option<&str>,
        idle_pages: u32,
    ) -> Result<Vec<SourceRecord>, ConnectError> {
        let t = self.resource_type.clone();
        if self.include_deletes && self.deletes_since.is_none() {
            // A first read takes every current resource; deletes from the server's now on.
            self.deletes_since = date
                .and_then(http_date_micros)
                .or(Some(instant::now()))
                .map(|d| d - 1_000_000);
        }
        let start = self.watermark;
        let mut out = Vec::new();
        for (n, e) in page.entry.iter().enumerate() {
            if !e.is_match() {
                continue;
            }
            let Some(meta) = e.meta() else { continue };
            let meta = meta.map_err(|_| {
                ConnectError::other(format!("entry {n} of a {t} page has no resourceType"))
            })?;
            if meta.resource_type != t.as_str() {
                continue;
            }
            if meta.id.is_empty() {
                return Err(ConnectError::other(format!(
                    "entry {n} of a {t} page has a resource without an id"
                )));
            }
            let lu_text = meta.last_updated.as_deref().ok_or_else(|| {
                ConnectError::other(format!("{t} resources have no meta.lastUpdated: the server cannot be read incrementally"))
            })?;
            let lu = instant::parse(lu_text).ok_or_else(|| {
                ConnectError::other(format!(
                    "entry {n} of a {t} page has a meta.lastUpdated that is not an instant"
                ))
            })?;
            let version = meta.version_id.as_deref().unwrap_or(lu_text);
            let pair = format!("{}/{version}", meta.id);
            if self.seen.contains_key(&pair) {
                continue;
            }
            let floor = self
                .watermark
                .unwrap_or(i64::MIN)
                .max(lu)
                .saturating_sub(self.overlap);
            self.watermark = Some(self.watermark.map_or(lu, |w| w.max(lu)));
            self.seen.insert(pair, lu);
            self.seen.retain(|_, at| *at >= floor);
            while self.seen.len() > MAX_SEEN {
                self.seen.pop_first();
            }
            let raw = e.resource.map(|r| r.get()).unwrap_or("null");
            let mut rec =
                ConnectRecord::new(self.topic.clone(), self.key(&meta.id), self.value(raw)?);
            rec.timestamp = Some(lu.div_euclid(1000));
            rec.headers.add_string("fhir.resourceType", t.as_str());
            if let Some(v) = meta.version_id.as_deref() {
                rec.headers.add_string("fhir.versionId", v);
            }
            rec.headers.add_string("fhir.lastUpdated", lu_text);
            out.push(SourceRecord::new(
                self.partition.clone(),
                self.offset(),
                rec,
            ));
        }
        let moved = self.watermark > start;
        self.phase = match page.next() {
            // A page that moved the watermark, and a link whose pages may shift: search again
            // from the watermark (keyset paging).
            Some(n) if moved && !out.is_empty() && !self.follows(n) => Phase::Search {
                next: None,
                idle_pages: 0,
            },
            // Within the watermark's instant, or nothing new: the server's next page.
            Some(n) if idle_pages < MAX_IDLE_PAGES => Phase::Search {
                next: Some(n.to_owned()),
                idle_pages: if out.is_empty() { idle_pages + 1 } else { 0 },
            },
            _ => {
                if idle_pages >= MAX_IDLE_PAGES {
                    tracing::warn!(resource_type = %t, "ending a read after {MAX_IDLE_PAGES} pages in a row with nothing new");
                }
                if self.include_deletes {
                    self.live_in_read.clear();
                    Phase::Deletes {
                        next: None,
                        newest: None,
                        idle_pages: 0,
                    }
                } else {
                    Phase::Idle
                }
            }
        };
        Ok(out)
    }

    fn take_history(
        &mut self,
        page: &Page<'_>,
        newest: Option<Micros>,
        idle_pages: u32,
    ) -> Result<Vec<SourceRecord>, ConnectError> {
        let t = self.resource_type.clone();
        let mut newest = newest;
        let mut out = Vec::new();
        for e in &page.entry {
            let (at, id, version, deleted) = match history_entry(e, &t) {
                Some(x) => x,
                None => continue,
            };
            if let Some(at) = at {
                newest = Some(newest.map_or(at, |n| n.max(at)));
            }
            if !deleted {
                if let Some(at) = at {
                    let live = self.live_in_read.entry(id.to_owned()).or_insert(at);
                    *live = (*live).max(at);
                }
                continue;
            }
            let at = at.unwrap_or(self.deletes_since.unwrap_or(0));
            if self.live_in_read.get(id).is_some_and(|live| *live > at) {
                continue;
            }
            let pair = format!("{id}/{version}");
            if self.deletes_seen.contains_key(&pair) {
                continue;
            }
            self.deletes_seen.insert(pair, at);
            while self.deletes_seen.len() > MAX_SEEN {
                self.deletes_seen.pop_first();
            }
            let mut rec = ConnectRecord::new(self.topic.clone(), self.key(id), Value::Null);
            rec.timestamp = Some(at.div_euclid(1000));
            rec.headers.add_string("fhir.resourceType", t.as_str());
            rec.headers.add_string("fhir.deleted", "true");
            out.push(SourceRecord::new(
                self.partition.clone(),
                self.offset(),
                rec,
            ));
        }
        self.phase = match page.next() {
            Some(n) if idle_pages < MAX_IDLE_PAGES => Phase::Deletes {
                next: Some(n.to_owned()),
                newest,
                idle_pages: if out.is_empty() { idle_pages + 1 } else { 0 },
            },
            _ => {
                // The read is complete: deletes before its newest entry were all seen.
                if let Some(n) = newest {
                    let since = self.deletes_since.map_or(n, |d| d.max(n));
                    self.deletes_since = Some(since);
                    let floor = since.saturating_sub(self.overlap);
                    self.deletes_seen.retain(|_, at| *at >= floor);
                }
                self.live_in_read.clear();
                Phase::Idle
            }
        };
        Ok(out)
    }
}

/// A history entry: when, which id, which version, whether it is a delete.
fn history_entry<'e>(e: &'e Entry<'_>, t: &str) -> Option<(Option<Micros>, &'e str, String, bool)> {
    let deleted = e
        .request
        .as_ref()
        .is_some_and(|r| r.method.eq_ignore_ascii_case("DELETE"))
        || (e.resource.is_none() && e.status().is_some_and(|s| s == 204 || s == 410 || s == 200));
    let at = e
        .response
        .as_ref()
        .and_then(|r| r.last_modified.as_deref())
        .and_then(instant::parse);
    // The entry's full URL names the resource (a create's request URL is only the type).
    let (ty, id) = [
        e.full_url.as_deref(),
        e.request.as_ref().map(|r| r.url.as_ref()),
        e.response.as_ref().and_then(|r| r.location.as_deref()),
    ]
    .into_iter()
    .flatten()
    .find_map(type_and_id)?;
    if ty != t {
        return None;
    }
    let version = e
        .etag_version()
        .map(str::to_owned)
        .or_else(|| {
            e.full_url
                .as_deref()
                .and_then(|u| u.split("/_history/").nth(1))
                .map(str::to_owned)
        })
        .or_else(|| at.map(instant::format))
        .unwrap_or_default();
    Some((at, id, version, deleted))
}

/// Whether a link pages by a plain offset into a live result (`_offset`, `offset`, `_skip`,
/// `skip`, `page`, `_page`), whose pages shift when the results change. HAPI's `_getpagesoffset`
/// pages a cached result (`_getpages`), which does not shift.
fn pages_by_offset(link: &str) -> bool {
    let query = link.split_once('?').map_or("", |(_, q)| q);
    let names: Vec<&str> = query
        .split('&')
        .map(|p| p.split('=').next().unwrap_or_default())
        .collect();
    if names.contains(&"_getpages") {
        return false;
    }
    names.iter().any(|n| {
        matches!(
            *n,
            "_offset" | "offset" | "_skip" | "skip" | "page" | "_page"
        )
    })
}

/// An HTTP `Date` header as microseconds.
fn http_date_micros(date: &str) -> Option<Micros> {
    let t = connect_core::http::retry::parse_http_date(date)?;
    i64::try_from(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_micros()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_core::config::Props;

    fn cfg(deletes: bool) -> FhirSourceConfig {
        FhirSourceConfig::parse(
            &Props::new()
                .with("fhir.url", "http://fhir.test:8080/fhir")
                .with("kafka.topic", "fhir.${resourceType}")
                .with("fhir.page.size", "2")
                .with(
                    "fhir.include.deletes",
                    if deletes { "true" } else { "false" },
                ),
        )
        .unwrap()
    }

    fn patient(id: &str, v: u32, at: &str) -> String {
        format!(
            r#"{{"resource":{{"resourceType":"Patient","id":"{id}","meta":{{"versionId":"{v}","lastUpdated":"{at}"}}}}}}"#
        )
    }

    fn page(entries: &[String], next: Option<&str>) -> Vec<u8> {
        let link = next
            .map(|n| format!(r#""link":[{{"relation":"next","url":"{n}"}}],"#))
            .unwrap_or_default();
        format!(
            r#"{{"resourceType":"Bundle","type":"searchset",{link}"entry":[{}]}}"#,
            entries.join(",")
        )
        .into_bytes()
    }

    fn ids(recs: &[SourceRecord]) -> Vec<String> {
        recs.iter()
            .map(|r| match &r.record.key {
                Value::Map(m) => format!("{:?}", m.get("id").unwrap()),
                other => format!("{other:?}"),
            })
            .collect()
    }

    const T1: &str = "2026-12-01T10:00:00.100Z";
    const T2: &str = "2026-12-01T10:00:00.200Z";
    const T3: &str = "2026-12-01T10:00:00.300Z";

    #[test]
    fn keyset_pages_and_the_shared_instant_are_read_once() {
        let c = cfg(false);
        let mut cur = TypeCursor::new(&c, "Patient", &[], None).unwrap();
        let q = cur.request().unwrap();
        assert_eq!(q.url, "Patient?_sort=_lastUpdated&_count=2");
        let recs = cur
            .take_page(
                &page(
                    &[patient("a", 1, T1), patient("b", 1, T2)],
                    Some("http://other.host/fhir?page=2"),
                ),
                None,
            )
            .unwrap();
        assert_eq!(ids(&recs).len(), 2);
        // The watermark moved: a new search from it (the server's next link is not followed).
        assert_eq!(
            cur.request().unwrap().url,
            "Patient?_lastUpdated=ge2026-12-01T10:00:00.200Z&_sort=_lastUpdated&_count=2"
        );
        // b again (already emitted) and c, which shares b's instant.
        let recs = cur
            .take_page(
                &page(
                    &[patient("b", 1, T2), patient("c", 1, T2)],
                    Some("http://other.host/fhir?page=2"),
                ),
                None,
            )
            .unwrap();
        assert_eq!(ids(&recs), ["String(\"c\")"]);
        // Still within one instant: the next link, on the configured host.
        let again = cur
            .take_page(
                &page(
                    &[patient("b", 1, T2), patient("c", 1, T2)],
                    Some("http://other.host/fhir?page=2"),
                ),
                None,
            )
            .unwrap();
        assert!(again.is_empty());
        assert_eq!(
            cur.request().unwrap().url,
            "http://fhir.test:8080/fhir?page=2"
        );
        let recs = cur
            .take_page(
                &page(&[patient("d", 1, T2), patient("a", 2, T3)], None),
                None,
            )
            .unwrap();
        assert_eq!(ids(&recs).len(), 2);
        assert_eq!(cur.phase, Phase::Idle);
        // The last record's offset resumes exactly: watermark T3, a/2 seen.
        let off = recs.last().unwrap().source_offset.clone();
        assert_eq!(off.get("lastUpdated").unwrap(), T3);
        assert_eq!(off.get("seen").unwrap(), serde_json::json!(["a/2"]));
        let mut resumed = TypeCursor::new(&c, "Patient", &[], Some(&off.map())).unwrap();
        let recs = resumed
            .take_page(
                &page(&[patient("a", 2, T3), patient("e", 1, T3)], None),
                None,
            )
            .unwrap();
        assert_eq!(ids(&recs), ["String(\"e\")"]);
        let r = &recs[0].record;
        assert_eq!(r.topic, "fhir.Patient");
        assert_eq!(
            r.headers
                .last_with_name("fhir.versionId")
                .map(|h| format!("{:?}", h.value)),
            Some("String(\"1\")".into())
        );
    }

    #[test]
    fn cursor_links_are_followed_and_offset_links_are_not() {
        assert!(pages_by_offset("http://h/fhir/Patient?_count=2&_offset=2"));
        assert!(pages_by_offset("http://h/fhir?page=2"));
        assert!(!pages_by_offset(
            "http://h/fhir/Patient?_count=2&_cursor=eyJ2"
        ));
        assert!(!pages_by_offset(
            "http://h/fhir?_getpages=abc&_getpagesoffset=20"
        ));
        let c = cfg(false);
        let mut cur = TypeCursor::new(&c, "Patient", &[], None).unwrap();
        let first = page(
            &[patient("a", 1, T1), patient("b", 1, T2)],
            Some("http://localhost:8080/Patient?_cursor=xyz"),
        );
        cur.take_page(&first, None).unwrap();
        // Followed, on the configured server.
        assert_eq!(
            cur.request().unwrap().url,
            "http://fhir.test:8080/Patient?_cursor=xyz"
        );
    }

    #[test]
    fn deletes_become_tombstones_unless_the_resource_lives_again() {
        let c = cfg(true);
        let mut cur = TypeCursor::new(&c, "Patient", &[], None).unwrap();
        cur.take_page(&page(&[], None), Some("Tue, 01 Dec 2026 10:00:00 GMT"))
            .unwrap();
        assert_eq!(cur.deletes_since, instant::parse("2026-12-01T09:59:59Z"));
        assert_eq!(
            cur.request().unwrap().url,
            "Patient/_history?_since=2026-12-01T09:59:59.000Z&_count=2"
        );
        let history = br#"{"resourceType":"Bundle","type":"history","entry":[
          {"fullUrl":"http://fhir.test:8080/fhir/Patient/x/_history/3","resource":{"resourceType":"Patient","id":"x","meta":{"versionId":"3"}},
           "request":{"method":"POST","url":"Patient"},"response":{"status":"201","lastModified":"2026-12-01T10:00:03Z"}},
          {"fullUrl":"http://fhir.test:8080/fhir/Patient/z/_history/2","request":{"method":"DELETE","url":"Patient/z"},
           "response":{"status":"204","lastModified":"2026-12-01T10:00:03Z"}},
          {"fullUrl":"http://fhir.test:8080/fhir/Patient/x/_history/2","request":{"method":"DELETE","url":"Patient/x"},
           "response":{"status":"204","lastModified":"2026-12-01T10:00:02Z"}},
          {"fullUrl":"http://fhir.test:8080/fhir/Patient/y/_history/5","request":{"method":"DELETE","url":"Patient/y"},
           "response":{"status":"204","lastModified":"2026-12-01T10:00:01Z"}}]}"#;
        let recs = cur.take_page(history, None).unwrap();
        assert_eq!(ids(&recs), ["String(\"z\")", "String(\"y\")"]);
        assert_eq!(recs[0].record.value, Value::Null);
        assert_eq!(cur.phase, Phase::Idle);
        assert_eq!(cur.deletes_since, instant::parse("2026-12-01T10:00:03Z"));
        // The next read starts at the newest entry, inclusively: the delete at that instant is
        // read again and not emitted twice.
        cur.begin();
        cur.take_page(&page(&[], None), None).unwrap();
        assert_eq!(
            cur.request().unwrap().url,
            "Patient/_history?_since=2026-12-01T10:00:03.000Z&_count=2"
        );
        let again = br#"{"resourceType":"Bundle","type":"history","entry":[
          {"fullUrl":"http://fhir.test:8080/fhir/Patient/z/_history/2","request":{"method":"DELETE","url":"Patient/z"},
           "response":{"status":"204","lastModified":"2026-12-01T10:00:03Z"}}]}"#;
        assert!(cur.take_page(again, None).unwrap().is_empty());
    }

    #[test]
    fn malformed_pages_and_offsets_fail_without_quoting() {
        let c = cfg(false);
        let mut cur = TypeCursor::new(&c, "Patient", &[], None).unwrap();
        let e = cur
            .take_page(br#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a","name":[{"family":"Doe"}]}}]}"#, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("meta.lastUpdated") && !e.contains("Doe"), "{e}");
        let bad: OffsetMap = serde_json::from_str(r#"{"lastUpdated":"yesterday"}"#).unwrap();
        assert!(TypeCursor::new(&c, "Patient", &[], Some(&bad)).is_err());
        assert_eq!(
            type_and_id("http://h/fhir/Patient/7/_history/2"),
            Some(("Patient", "7"))
        );
        assert_eq!(type_and_id("Patient/7"), Some(("Patient", "7")));
        assert_eq!(type_and_id("Patient"), None);
    }
}
