//! Which transactions a snapshot already holds, when it was not taken in the slot's exported snapshot.
//!
//! A snapshot taken while the slot already exists (the first snapshot was cut short, or
//! `snapshot.mode` is `always` or `when_needed`) reads the tables as of *now*, while streaming resumes
//! from the slot's confirmed position, which is earlier. Transactions committed in between are in the
//! rows read and come again from the slot. Re-emitting them would show consumers a row going back in
//! time (the snapshot's newer value, then older changes), so the stream skips exactly the
//! transactions the snapshot could see: those PostgreSQL's snapshot (`xmin:xmax:xip`) says are
//! visible. Transactions whose commit record lies at or beyond the WAL insert position read just
//! after the snapshot was taken cannot be visible to it; once the stream reaches that position the
//! filter is dropped.
//!
//! The filter travels in the offsets (`snapshot_txids`, `snapshot_txids_until`) until then, so a
//! restart in that window skips the same transactions.

use connect_core::record::OffsetMap;
use serde_json::Value as Json;

/// The most in-progress transactions a stored filter may name (PostgreSQL's own bound is
/// `max_connections` plus prepared transactions; this only keeps a corrupt offset from allocating
/// without limit).
pub const MAX_IN_PROGRESS: usize = 1 << 20;

/// The transactions visible to a snapshot, as 32-bit transaction ids (what pgoutput's Begin carries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotVisibility {
    /// Every transaction before it had ended when the snapshot was taken.
    xmin: u32,
    /// No transaction from it on had ended.
    xmax: u32,
    /// Transactions between the two still in progress (invisible), sorted.
    in_progress: Vec<u32>,
    /// The WAL insert position read after the snapshot was taken: a commit at or after it is never
    /// visible.
    until: u64,
}

/// `a` comes before `b` in PostgreSQL's circular transaction id order.
fn precedes(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl SnapshotVisibility {
    /// Parses PostgreSQL's snapshot text (`txid_current_snapshot()::text`, `xmin:xmax:xip,...`, 64-bit
    /// ids with the epoch) with the WAL insert position read after it.
    pub fn parse(text: &str, until: u64) -> Option<SnapshotVisibility> {
        let mut parts = text.trim().splitn(3, ':');
        let id = |s: &str| s.trim().parse::<u64>().ok().map(|x| x as u32);
        let xmin = id(parts.next()?)?;
        let xmax = id(parts.next()?)?;
        let rest = parts.next()?;
        let mut in_progress = Vec::new();
        for x in rest.split(',').filter(|s| !s.trim().is_empty()) {
            if in_progress.len() == MAX_IN_PROGRESS {
                return None;
            }
            in_progress.push(id(x)?);
        }
        in_progress.sort_unstable();
        Some(SnapshotVisibility {
            xmin,
            xmax,
            in_progress,
            until,
        })
    }

    /// Whether the transaction `xid`, committed at `commit_lsn`, is in the snapshot.
    pub fn holds(&self, xid: u32, commit_lsn: u64) -> bool {
        if commit_lsn >= self.until {
            return false;
        }
        precedes(xid, self.xmin)
            || (precedes(xid, self.xmax) && self.in_progress.binary_search(&xid).is_err())
    }

    /// Whether a stream that has read up to `lsn` is past every transaction the snapshot holds.
    pub fn passed(&self, lsn: u64) -> bool {
        lsn >= self.until
    }

    /// Adds the filter to a stored offset.
    pub fn store(&self, m: &mut OffsetMap) {
        let ids: Vec<String> = self.in_progress.iter().map(u32::to_string).collect();
        m.insert(
            "snapshot_txids".into(),
            format!("{}:{}:{}", self.xmin, self.xmax, ids.join(",")).into(),
        );
        m.insert("snapshot_txids_until".into(), self.until.into());
    }

    /// Reads the filter from a stored offset, if it has one.
    pub fn load(m: &OffsetMap) -> Option<SnapshotVisibility> {
        let text = m.get("snapshot_txids")?.as_str()?;
        let until = match m.get("snapshot_txids_until")? {
            Json::Number(n) => n.as_u64()?,
            Json::String(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        SnapshotVisibility::parse(text, until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_transactions_are_those_ended_before_the_snapshot() {
        let v = SnapshotVisibility::parse("100:110:103,105", 5_000).unwrap();
        assert!(v.holds(99, 10));
        assert!(v.holds(104, 10));
        assert!(!v.holds(103, 10), "in progress at the snapshot");
        assert!(!v.holds(105, 10));
        assert!(!v.holds(110, 10), "started after");
        assert!(!v.holds(200, 10));
        assert!(
            !v.holds(99, 5_000),
            "committed at or after the insert position"
        );
        assert!(v.passed(5_000) && !v.passed(4_999));
    }

    #[test]
    fn ids_compare_across_wraparound_and_epochs() {
        // Epoch 1: 64-bit ids beyond 2^32; the stream carries their low 32 bits.
        let base = (1u64 << 32) + u32::MAX as u64 - 5;
        let v = SnapshotVisibility::parse(&format!("{}:{}:", base, base + 10), u64::MAX).unwrap();
        let low = |x: u64| x as u32;
        assert!(v.holds(low(base - 1), 0));
        assert!(v.holds(low(base + 7), 0), "after the wrap, before xmax");
        assert!(!v.holds(low(base + 10), 0));
    }

    #[test]
    fn round_trips_through_offsets_and_refuses_garbage() {
        let v = SnapshotVisibility::parse("7:9:8", 42).unwrap();
        let mut m = OffsetMap::new();
        v.store(&mut m);
        assert_eq!(SnapshotVisibility::load(&m), Some(v));
        for bad in ["", "1", "1:2", "a:2:", "1:2:x", "1:2:3,,y"] {
            assert_eq!(SnapshotVisibility::parse(bad, 1), None, "{bad}");
        }
        assert_eq!(SnapshotVisibility::load(&OffsetMap::new()), None);
    }
}
