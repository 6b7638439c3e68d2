//! The connector's position in Debezium's offset form: source partition `{"server": <topic.prefix>}`,
//! offset `{lsn, txId, ts_usec, lsn_proc, lsn_commit, snapshot, last_snapshot_record}`, LSNs as
//! numbers.
//!
//! `lsn_commit` is the end of the last transaction whose every event is at or before this record:
//! streaming resumes there, and it is what the slot may confirm once the record is acknowledged.
//! `lsn_proc` is the last change completely handed on; with `txId` it lets a restart inside a
//! transaction skip the changes of that transaction already delivered.

use std::sync::Arc;

use connect_core::record::{OffsetMap, OffsetValue};
use serde_json::Value as Json;

use super::visibility::SnapshotVisibility;

pub use crate::cdc::server_partition as partition;

/// A position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PgOffset {
    /// The record's own change LSN.
    pub lsn: u64,
    /// Transaction id.
    pub tx_id: Option<u32>,
    /// Commit time, microseconds since the epoch.
    pub ts_usec: i64,
    /// The last change LSN completely handed on.
    pub lsn_proc: u64,
    /// Where streaming resumes (end of the last complete transaction).
    pub lsn_commit: u64,
    /// A snapshot record.
    pub snapshot: bool,
    /// The snapshot's last record.
    pub last_snapshot_record: bool,
    /// The transactions a snapshot not taken at the slot's position holds, which the stream skips
    /// (see [`super::visibility`]).
    pub visibility: Option<Arc<SnapshotVisibility>>,
}

impl PgOffset {
    /// The stored form.
    pub fn to_map(&self) -> OffsetMap {
        let mut m = OffsetMap::with_capacity(7);
        m.insert("lsn".into(), self.lsn.into());
        if let Some(x) = self.tx_id {
            m.insert("txId".into(), x.into());
        }
        m.insert("ts_usec".into(), self.ts_usec.into());
        if self.snapshot {
            m.insert("snapshot".into(), true.into());
            m.insert(
                "last_snapshot_record".into(),
                self.last_snapshot_record.into(),
            );
        } else {
            m.insert("lsn_proc".into(), self.lsn_proc.into());
            m.insert("lsn_commit".into(), self.lsn_commit.into());
        }
        if let Some(v) = &self.visibility {
            v.store(&mut m);
        }
        m
    }

    /// Reads a stored offset, ours or Debezium's (numbers as numbers or text).
    pub fn from_map(m: &OffsetMap) -> Option<PgOffset> {
        let num = |k: &str| -> Option<u64> {
            match m.get(k)? {
                Json::Number(n) => n.as_u64(),
                Json::String(s) => s.trim().parse().ok(),
                _ => None,
            }
        };
        let flag = |k: &str| match m.get(k) {
            Some(Json::Bool(b)) => *b,
            Some(Json::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => false,
        };
        let lsn = num("lsn")?;
        Some(PgOffset {
            lsn,
            tx_id: num("txId").and_then(|x| u32::try_from(x).ok()),
            ts_usec: num("ts_usec").map_or(0, |n| n as i64),
            lsn_proc: num("lsn_proc").unwrap_or(lsn),
            lsn_commit: num("lsn_commit").unwrap_or(lsn),
            snapshot: flag("snapshot"),
            last_snapshot_record: flag("last_snapshot_record"),
            visibility: SnapshotVisibility::load(m).map(Arc::new),
        })
    }

    /// Whether this is a snapshot that did not complete (a restart snapshots again).
    pub fn snapshot_incomplete(&self) -> bool {
        self.snapshot && !self.last_snapshot_record
    }
}

/// `0/16B3748`, PostgreSQL's text form of an LSN.
pub fn lsn_text(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff)
}

/// Parses PostgreSQL's text form of an LSN.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.trim().split_once('/')?;
    let hi = u64::from_str_radix(hi, 16).ok()?;
    let lo = u64::from_str_radix(lo, 16).ok()?;
    (hi <= u32::MAX as u64 && lo <= u32::MAX as u64).then_some(hi << 32 | lo)
}

/// A record's offset stays a `PgOffset` until the runtime stores it.
impl OffsetValue for PgOffset {
    fn to_map(&self) -> OffsetMap {
        PgOffset::to_map(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_debezium_forms() {
        let o = PgOffset {
            lsn: 100,
            tx_id: Some(7),
            ts_usec: 5,
            lsn_proc: 100,
            lsn_commit: 90,
            snapshot: false,
            last_snapshot_record: false,
            visibility: SnapshotVisibility::parse("5:9:6", 300).map(Arc::new),
        };
        assert_eq!(PgOffset::from_map(&o.to_map()).as_ref(), Some(&o));
        let dbz: OffsetMap = serde_json::from_str(
            r#"{"lsn_proc":"24023128","lsn_commit":24023128,"lsn":24023128,"txId":555,"ts_usec":1559033904863619}"#,
        )
        .unwrap();
        let d = PgOffset::from_map(&dbz).unwrap();
        assert_eq!(
            (d.lsn_proc, d.lsn_commit, d.tx_id),
            (24_023_128, 24_023_128, Some(555))
        );
        let snap: OffsetMap =
            serde_json::from_str(r#"{"lsn":1,"snapshot":true,"last_snapshot_record":false}"#)
                .unwrap();
        assert!(PgOffset::from_map(&snap).unwrap().snapshot_incomplete());
        assert_eq!(parse_lsn(&lsn_text(0x1_16B3748)), Some(0x1_16B3748));
        assert_eq!(lsn_text(0x16B3748), "0/16B3748");
        assert_eq!(parse_lsn("zz/1"), None);
    }
}
