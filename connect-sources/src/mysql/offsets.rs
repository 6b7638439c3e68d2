//! The connector's position in Debezium's offset form: source partition `{"server": <topic.prefix>}`,
//! offset `{ts_sec, file, pos, gtids, event, row, server_id, snapshot}`. `file`/`pos` is where reading
//! restarts (the start of the transaction in progress), `event` how many of that transaction's events
//! were already handled and `row` how many rows of the next one, so a restart inside a large
//! transaction neither skips nor repeats acknowledged rows.

use std::cmp::Ordering;

use connect_core::record::{OffsetMap, OffsetValue};
use serde_json::Value as Json;

pub use crate::cdc::server_partition as partition;

/// A binlog position with the skips that make it exact.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BinlogOffset {
    /// Binlog file where reading restarts.
    pub file: String,
    /// Position in it.
    pub pos: u64,
    /// Events of the transaction at `pos` already handled.
    pub event: u64,
    /// Rows of the next rows event already handled.
    pub row: u64,
    /// The GTID set of completed transactions (MariaDB `domain-server-seq,...`, or MySQL's).
    pub gtids: Option<String>,
    /// Commit time of the last event, seconds.
    pub ts_sec: i64,
    /// The server the position is on.
    pub server_id: Option<u64>,
    /// A snapshot is in progress (the position is the snapshot's).
    pub snapshot: bool,
}

impl BinlogOffset {
    /// The stored form.
    pub fn to_map(&self) -> OffsetMap {
        let mut m = OffsetMap::with_capacity(8);
        m.insert("ts_sec".into(), self.ts_sec.into());
        m.insert("file".into(), self.file.clone().into());
        m.insert("pos".into(), self.pos.into());
        if let Some(g) = &self.gtids {
            m.insert("gtids".into(), g.clone().into());
        }
        if self.event != 0 {
            m.insert("event".into(), self.event.into());
        }
        if self.row != 0 {
            m.insert("row".into(), self.row.into());
        }
        if let Some(s) = self.server_id {
            m.insert("server_id".into(), s.into());
        }
        if self.snapshot {
            m.insert("snapshot".into(), true.into());
        }
        m
    }

    /// Reads a stored offset, ours or Debezium's (numbers as numbers or text, `snapshot` as a boolean,
    /// `"true"` or a snapshot type name, `snapshot_completed` honoured).
    pub fn from_map(m: &OffsetMap) -> Option<BinlogOffset> {
        let num = |k: &str| -> Option<u64> {
            match m.get(k)? {
                Json::Number(n) => n.as_u64(),
                Json::String(s) => s.trim().parse().ok(),
                _ => None,
            }
        };
        let file = m.get("file")?.as_str()?.to_owned();
        let snapshot_flag = match m.get("snapshot") {
            Some(Json::Bool(b)) => *b,
            Some(Json::String(s)) => !s.eq_ignore_ascii_case("false"),
            _ => false,
        };
        let completed = matches!(m.get("snapshot_completed"), Some(Json::Bool(true)))
            || matches!(m.get("snapshot_completed"), Some(Json::String(s)) if s == "true");
        Some(BinlogOffset {
            file,
            pos: num("pos")?,
            event: num("event").unwrap_or(0),
            row: num("row").unwrap_or(0),
            gtids: m
                .get("gtids")
                .and_then(Json::as_str)
                .map(str::to_owned)
                .filter(|s| !s.is_empty()),
            ts_sec: num("ts_sec").map(|n| n as i64).unwrap_or(0),
            server_id: num("server_id"),
            snapshot: snapshot_flag && !completed,
        })
    }
}

/// A record's offset stays a `BinlogOffset` until the runtime stores it.
impl OffsetValue for BinlogOffset {
    fn to_map(&self) -> OffsetMap {
        BinlogOffset::to_map(self)
    }
}

/// The offset of one row of a rows event: the event's position, shared by all its rows, and the
/// row's number (`row` in the stored form), so a row's offset costs one small allocation.
#[derive(Debug, Clone)]
pub struct RowOffset {
    /// The event's position (`row` unset).
    pub event: std::sync::Arc<BinlogOffset>,
    /// Rows of the event handled up to and including this one.
    pub row: u64,
}

impl OffsetValue for RowOffset {
    fn to_map(&self) -> OffsetMap {
        BinlogOffset {
            row: self.row,
            ..(*self.event).clone()
        }
        .to_map()
    }
}

/// Orders binlog coordinates: by the file's sequence number, then the position. Files of another
/// base name compare by name.
pub fn compare(a_file: &str, a_pos: u64, b_file: &str, b_pos: u64) -> Ordering {
    fn split(f: &str) -> (&str, Option<u64>) {
        match f.rsplit_once('.') {
            Some((base, n)) => (base, n.parse().ok()),
            None => (f, None),
        }
    }
    let (ab, an) = split(a_file);
    let (bb, bn) = split(b_file);
    let files = match (an, bn) {
        (Some(x), Some(y)) if ab == bb => x.cmp(&y),
        _ => a_file.cmp(b_file),
    };
    files.then(a_pos.cmp(&b_pos))
}

/// The name of a binlog file from a rotate event. The first, artificial rotate event of a stream is read
/// before the format description and keeps its 4 checksum bytes after the name: when the name read
/// starts with the file that was requested, that file is the name.
pub fn clean_binlog_name(raw: &[u8], requested: &str) -> String {
    if !requested.is_empty() && raw.starts_with(requested.as_bytes()) {
        return requested.to_owned();
    }
    let s: String = raw
        .iter()
        .take_while(|b| b.is_ascii_graphic())
        .map(|b| *b as char)
        .collect();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debezium_offset_is_read() {
        let m: OffsetMap = serde_json::from_str(
            r#"{"transaction_id":null,"ts_sec":1700000000,"file":"mysql-bin.000003","pos":"1234","row":2,"server_id":223344,"event":3}"#,
        )
        .unwrap();
        let o = BinlogOffset::from_map(&m).unwrap();
        assert_eq!((o.pos, o.event, o.row, o.snapshot), (1234, 3, 2, false));
        let s: OffsetMap =
            serde_json::from_str(r#"{"file":"b.000001","pos":4,"snapshot":true}"#).unwrap();
        assert!(BinlogOffset::from_map(&s).unwrap().snapshot);
        let done: OffsetMap = serde_json::from_str(
            r#"{"file":"b.000001","pos":4,"snapshot":"INITIAL","snapshot_completed":true}"#,
        )
        .unwrap();
        assert!(!BinlogOffset::from_map(&done).unwrap().snapshot);
        assert_eq!(BinlogOffset::from_map(&o.to_map()), Some(o.clone()));
        // A row's offset is the event's position with the row's number.
        let event = std::sync::Arc::new(BinlogOffset {
            row: 0,
            ..o.clone()
        });
        let row = RowOffset { event, row: o.row };
        assert_eq!(OffsetValue::to_map(&row), o.to_map());
    }

    #[test]
    fn coordinates_order_by_file_number() {
        assert_eq!(compare("b.000010", 4, "b.000009", 900), Ordering::Greater);
        assert_eq!(compare("b.000001", 4, "b.000001", 4), Ordering::Equal);
        assert_eq!(
            clean_binlog_name(b"binlog.000001\xa1\xb2n7", "binlog.000001"),
            "binlog.000001"
        );
        assert_eq!(
            clean_binlog_name(b"binlog.000002", "binlog.000001"),
            "binlog.000002"
        );
    }
}
