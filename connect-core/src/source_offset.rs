//! A source record's offset as the task hands it over: a map, or the task's own compact position that
//! becomes a map only when the runtime stores it.
//!
//! Kafka Connect stores, per source partition, the offset of the newest record whose every predecessor
//! the broker acknowledged: one map per partition and flush, however many records passed. A task that
//! builds an [`OffsetMap`] for each record (a binlog position with six keys, say) allocates and frees
//! a dozen strings per record that the runtime never reads. [`SourceOffset::new`] takes the task's own
//! position type instead ([`OffsetValue`]), kept behind one shared pointer; the runtime calls
//! [`OffsetValue::to_map`] only for the offsets it stores.
//!
//! ```
//! use connect_core::record::{OffsetMap, OffsetValue, SourceOffset};
//!
//! #[derive(Debug)]
//! struct LinePosition {
//!     line: u64,
//! }
//!
//! impl OffsetValue for LinePosition {
//!     fn to_map(&self) -> OffsetMap {
//!         let mut m = OffsetMap::new();
//!         m.insert("line".into(), self.line.into());
//!         m
//!     }
//! }
//!
//! let offset = SourceOffset::new(LinePosition { line: 42 });
//! assert_eq!(offset.get("line"), Some(serde_json::json!(42)));
//! // Equal to the same position given as a map.
//! let map: OffsetMap = [("line".to_owned(), serde_json::json!(42))].into_iter().collect();
//! assert_eq!(offset, SourceOffset::from(map));
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::record::OffsetMap;

/// A task's position within a source partition, in the form the task keeps it.
///
/// `to_map` gives the form Kafka Connect stores (the offsets topic's value): it is called when the
/// offset is stored or read back by a task, not per record, so it may allocate freely. Two values
/// are the same offset when their maps are equal.
pub trait OffsetValue: Send + Sync + fmt::Debug + 'static {
    /// The stored form.
    fn to_map(&self) -> OffsetMap;

    /// The stored form without building it, when the value already is one.
    fn as_map(&self) -> Option<&OffsetMap> {
        None
    }
}

impl OffsetValue for OffsetMap {
    fn to_map(&self) -> OffsetMap {
        self.clone()
    }

    fn as_map(&self) -> Option<&OffsetMap> {
        Some(self)
    }
}

/// The offset of one source record: cheap to clone (one shared pointer), compared and printed as its
/// map. Build it from an [`OffsetMap`] (`SourceOffset::from(map)`) or from the task's own position
/// type ([`SourceOffset::new`]).
#[derive(Clone)]
pub struct SourceOffset(Arc<dyn OffsetValue>);

impl SourceOffset {
    /// An offset kept in the task's own form until it is stored.
    pub fn new(value: impl OffsetValue) -> Self {
        SourceOffset(Arc::new(value))
    }

    /// The stored form: borrowed when the offset was given as a map, built otherwise.
    pub fn map(&self) -> Cow<'_, OffsetMap> {
        match self.0.as_map() {
            Some(m) => Cow::Borrowed(m),
            None => Cow::Owned(self.0.to_map()),
        }
    }

    /// One key of the stored form.
    pub fn get(&self, key: &str) -> Option<serde_json::Value> {
        match self.0.as_map() {
            Some(m) => m.get(key).cloned(),
            None => self.0.to_map().remove(key),
        }
    }

    /// Whether both are the same handle (one record's offset, cloned), which is cheaper to ask than
    /// equality.
    pub fn ptr_eq(a: &SourceOffset, b: &SourceOffset) -> bool {
        a.handle_id() == b.handle_id()
    }

    /// This handle's identity: the same for its clones, different from every other offset alive at the
    /// same time except the default (empty) ones, which share one handle. A key for finding one
    /// record's offset among many, cheaper than equality.
    pub fn handle_id(&self) -> usize {
        Arc::as_ptr(&self.0).cast::<()>() as usize
    }

    /// Whether the stored form has no key.
    pub fn is_empty(&self) -> bool {
        self.map().is_empty()
    }
}

impl Default for SourceOffset {
    /// The empty offset: one shared handle, so that a record whose offset is set later costs no
    /// allocation for it.
    fn default() -> Self {
        static EMPTY: std::sync::LazyLock<Arc<OffsetMap>> =
            std::sync::LazyLock::new(|| Arc::new(OffsetMap::new()));
        SourceOffset(EMPTY.clone())
    }
}

impl From<OffsetMap> for SourceOffset {
    fn from(m: OffsetMap) -> Self {
        SourceOffset(Arc::new(m))
    }
}

impl From<Arc<OffsetMap>> for SourceOffset {
    fn from(m: Arc<OffsetMap>) -> Self {
        SourceOffset(m)
    }
}

impl PartialEq for SourceOffset {
    fn eq(&self, other: &Self) -> bool {
        SourceOffset::ptr_eq(self, other) || *self.map() == *other.map()
    }
}

impl fmt::Debug for SourceOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.map(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq)]
    struct Pos(u64);

    impl OffsetValue for Pos {
        fn to_map(&self) -> OffsetMap {
            [("pos".to_owned(), json!(self.0))].into_iter().collect()
        }
    }

    #[test]
    fn a_value_and_its_map_are_the_same_offset() {
        let v = SourceOffset::new(Pos(7));
        let m = SourceOffset::from(Pos(7).to_map());
        assert_eq!(v, m);
        assert_ne!(v, SourceOffset::new(Pos(8)));
        assert_eq!(v.get("pos"), Some(json!(7)));
        assert_eq!(m.get("pos"), Some(json!(7)));
        assert_eq!(v.get("file"), None);
        assert_eq!(format!("{v:?}"), r#"{"pos": Number(7)}"#);
        assert!(SourceOffset::default().is_empty());
        assert!(!v.is_empty());
    }

    #[test]
    fn clones_share_the_value_and_a_map_is_lent_not_built() {
        let v = SourceOffset::new(Pos(1));
        let c = v.clone();
        assert!(SourceOffset::ptr_eq(&v, &c));
        assert!(!SourceOffset::ptr_eq(&v, &SourceOffset::new(Pos(1))));
        assert!(
            SourceOffset::ptr_eq(&SourceOffset::default(), &SourceOffset::default()),
            "the empty offset is one shared handle, not an allocation each"
        );
        let m = SourceOffset::from(Pos(1).to_map());
        assert!(matches!(m.map(), Cow::Borrowed(_)));
        assert!(matches!(v.map(), Cow::Owned(_)));
    }
}
