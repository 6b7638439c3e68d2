use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use connect_core::async_trait;
use connect_core::data::{Schema, Value};
use connect_core::error::{ConnectError, DataError};
use connect_core::hl7::{structured, Message};
use connect_core::record::{ConnectRecord, OffsetMap, SourceRecord};
use connect_core::runtime::{ErrantRecordReporter, RawRecord};
use connect_core::source::{RecordOutcome, RecordPosition, SourceTask, SourceTaskContext};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

use super::{build_ack, encode_frame, AckCode, FrameDecoder, FrameError, MllpSourceConfig};

type DedupKey = (String, String, String);

enum DedupState {
    /// The first copy is on its way to Kafka (its sequence number, since when).
    Pending(u64, Instant),
    /// Durable (or deliberately filtered) since then.
    Acked(Instant),
}

impl DedupState {
    fn since(&self) -> Instant {
        match self {
            DedupState::Pending(_, t) | DedupState::Acked(t) => *t,
        }
    }
}

/// Duplicate suppression: every (MSH-3, MSH-4, MSH-10) seen within the window, at most `max` of them
/// (the oldest forgotten first), so no sender can grow it without bound.
struct Dedup {
    map: HashMap<DedupKey, DedupState>,
    /// Keys in the order they were first seen; may hold keys already removed from `map`.
    order: VecDeque<DedupKey>,
    max: usize,
    window: Duration,
    last_prune: Option<Instant>,
}

impl Dedup {
    fn new(max: usize, window: Duration) -> Self {
        Dedup {
            map: HashMap::new(),
            order: VecDeque::new(),
            max: max.max(1),
            window,
            last_prune: None,
        }
    }

    fn insert(&mut self, key: DedupKey, state: DedupState) {
        if self.map.insert(key.clone(), state).is_none() {
            self.order.push_back(key);
        }
        while self.map.len() > self.max {
            match self.order.pop_front() {
                Some(k) => {
                    self.map.remove(&k);
                }
                None => break,
            }
        }
        // Keys removed from the map (AE, expiry) leave stale entries in `order`; keep it bounded too.
        if self.order.len() > self.max.saturating_mul(2) {
            let map = &self.map;
            self.order.retain(|k| map.contains_key(k));
        }
    }

    /// Forgets entries older than the window (pending ones too: a record that never settled).
    fn prune(&mut self, now: Instant) {
        if self
            .last_prune
            .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        self.last_prune = Some(now);
        let window = self.window;
        self.map
            .retain(|_, s| now.saturating_duration_since(s.since()) < window);
        let map = &self.map;
        self.order.retain(|k| map.contains_key(k));
    }
}

struct Waiting {
    waiters: Vec<oneshot::Sender<AckCode>>,
    dedup: Option<DedupKey>,
}

struct Shared {
    seq: AtomicU64,
    pending: Mutex<HashMap<u64, Waiting>>,
    dedup: Mutex<Dedup>,
    /// Connections being served.
    connections: AtomicUsize,
    /// Connections refused over `mllp.max.connections`, and when that was last logged.
    refused: AtomicU64,
    refused_logged: Mutex<Option<(Instant, u64)>>,
    /// Senders (MSH-3|MSH-4) whose recent ids are kept with the offsets, at most
    /// `dedup.persist.max.senders`.
    persisted_senders: Mutex<std::collections::HashSet<String>>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            seq: AtomicU64::new(0),
            pending: Mutex::new(HashMap::new()),
            dedup: Mutex::new(Dedup::new(100_000, Duration::from_secs(600))),
            connections: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
            refused_logged: Mutex::new(None),
            persisted_senders: Mutex::new(std::collections::HashSet::new()),
        }
    }
}

impl Shared {
    /// Whether this sender's ids are kept with the offsets: yes for the first `max` senders seen
    /// (and those restored at start), no for later ones, so input cannot create source partitions
    /// without bound.
    fn persists(&self, sender: &str, max: usize) -> bool {
        let Ok(mut known) = self.persisted_senders.lock() else {
            return false;
        };
        if known.contains(sender) {
            return true;
        }
        if known.len() >= max {
            return false;
        }
        known.insert(sender.to_owned());
        true
    }

    /// Counts a refused connection and logs once per burst (at most every 10 s, with the count since).
    fn refuse(&self, peer: SocketAddr, max: usize) {
        let total = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        let Ok(mut last) = self.refused_logged.lock() else {
            return;
        };
        let now = Instant::now();
        let due =
            last.is_none_or(|(t, _)| now.saturating_duration_since(t) >= Duration::from_secs(10));
        if due {
            let since = total - last.map_or(0, |(_, n)| n);
            tracing::warn!(%peer, max_connections = max, refused = since, refused_total = total, "MLLP connection refused: too many connections");
            *last = Some((now, total));
        }
    }
}

/// Decrements the connection count when a connection ends, however it ends.
struct ConnectionSlot(Arc<Shared>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The source partition of a message: per sender and dedup slot when it has a control id and its
/// sender's ids are persisted (its offset then remembers the id, so a resend after a restart is
/// recognised), else the listener's.
fn partition_of(bind: &str, key: &DedupKey, slots: u32, persisted: bool) -> Option<OffsetMap> {
    if slots == 0 || key.2.is_empty() || !persisted {
        return None;
    }
    let slot = fnv1a(key.2.as_bytes()) % slots;
    Some(
        [
            ("mllp".to_string(), serde_json::json!(bind)),
            (
                "sender".to_string(),
                serde_json::json!(format!("{}|{}", key.0, key.1)),
            ),
            ("slot".to_string(), serde_json::json!(slot)),
        ]
        .into_iter()
        .collect(),
    )
}

/// FNV-1a: a stable hash (the slot of a control id must not change between runs).
fn fnv1a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

enum Event {
    Record(Box<SourceRecord>),
}

/// Listens for MLLP connections and acknowledges each message once it is durable. See the
/// [module docs](super).
pub struct MllpSourceTask {
    cfg: Option<Arc<MllpSourceConfig>>,
    shared: Arc<Shared>,
    rx: tokio::sync::Mutex<Option<mpsc::Receiver<Event>>>,
    stop: watch::Sender<bool>,
    local_addr: Mutex<Option<SocketAddr>>,
}

impl Default for MllpSourceTask {
    fn default() -> Self {
        MllpSourceTask {
            cfg: None,
            shared: Arc::default(),
            rx: tokio::sync::Mutex::new(None),
            stop: watch::channel(false).0,
            local_addr: Mutex::new(None),
        }
    }
}

impl MllpSourceTask {
    /// The address the listener is bound to (useful with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr.lock().ok().and_then(|a| *a)
    }
}

#[async_trait]
impl SourceTask for MllpSourceTask {
    async fn start(&mut self, ctx: SourceTaskContext) -> Result<(), ConnectError> {
        let cfg = Arc::new(MllpSourceConfig::parse(&ctx.config)?);
        if let Ok(mut d) = self.shared.dedup.lock() {
            *d = Dedup::new(cfg.dedup_max_entries, cfg.dedup_window);
            // Message ids acknowledged before a restart (or a crash), from the stored offsets.
            let now = Instant::now();
            let now_ms = now_ms();
            let mut restored = 0usize;
            for (partition, offset) in ctx.offsets.all() {
                if partition.get("mllp") != Some(&serde_json::json!(cfg.bind)) {
                    continue;
                }
                let (Some(sender), Some(id), Some(at)) = (
                    partition.get("sender").and_then(|s| s.as_str()),
                    offset.get("control_id").and_then(|s| s.as_str()),
                    offset.get("received_ms").and_then(|s| s.as_i64()),
                ) else {
                    continue;
                };
                let age =
                    Duration::from_millis(u64::try_from(now_ms.saturating_sub(at)).unwrap_or(0));
                if age >= cfg.dedup_window {
                    continue;
                }
                let Some(since) = now.checked_sub(age) else {
                    continue;
                };
                if !self.shared.persists(sender, cfg.dedup_persist_max_senders) {
                    continue;
                }
                let (app, fac) = sender.split_once('|').unwrap_or((sender, ""));
                d.insert(
                    (app.to_owned(), fac.to_owned(), id.to_owned()),
                    DedupState::Acked(since),
                );
                restored += 1;
            }
            if restored > 0 {
                tracing::info!(
                    restored,
                    "MLLP duplicate suppression restored from stored offsets"
                );
            }
        }
        // TLS material is loaded before binding, so a bad file fails the start with its key named.
        let tls = cfg.tls.as_ref().map(|t| t.acceptor()).transpose()?;
        let listener = bind(&cfg.bind).await?;
        let addr = listener
            .local_addr()
            .map_err(|e| ConnectError::io("reading the listener address", e))?;
        if let Ok(mut a) = self.local_addr.lock() {
            *a = Some(addr);
        }
        tracing::info!(%addr, tls = tls.is_some(), "MLLP listener started");
        let (tx, rx) = mpsc::channel(1024);
        *self.rx.get_mut() = Some(rx);
        let partition: Arc<OffsetMap> = Arc::new(
            [("mllp".to_string(), serde_json::json!(cfg.bind))]
                .into_iter()
                .collect(),
        );
        let conn = Conn {
            cfg: cfg.clone(),
            shared: self.shared.clone(),
            tx,
            partition,
            reporter: ctx.errant_record_reporter.clone(),
        };
        let mut stop = self.stop.subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, peer)) => {
                            let max = conn.cfg.max_connections;
                            if conn.shared.connections.fetch_add(1, Ordering::SeqCst) >= max {
                                conn.shared.connections.fetch_sub(1, Ordering::SeqCst);
                                conn.shared.refuse(peer, max);
                                drop(stream);
                                continue;
                            }
                            let slot = ConnectionSlot(conn.shared.clone());
                            let c = conn.clone();
                            let stop = stop.clone();
                            let tls = tls.clone();
                            tokio::spawn(async move {
                                let _slot = slot;
                                match tls {
                                    None => c.serve(stream, peer, stop).await,
                                    Some(acceptor) => {
                                        // A client that never finishes its handshake does not hold a task.
                                        let handshake = tokio::time::timeout(
                                            Duration::from_secs(30),
                                            acceptor.accept(stream),
                                        )
                                        .await;
                                        match handshake {
                                            Ok(Ok(tls_stream)) => c.serve(tls_stream, peer, stop).await,
                                            Ok(Err(e)) => {
                                                tracing::warn!(%peer, error = %e, "MLLP TLS handshake failed")
                                            }
                                            Err(_) => tracing::warn!(%peer, "MLLP TLS handshake timed out"),
                                        }
                                    }
                                }
                            });
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "MLLP accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            }
        });
        self.cfg = Some(cfg);
        Ok(())
    }

    async fn poll(&self) -> Result<Vec<SourceRecord>, ConnectError> {
        let mut guard = self.rx.lock().await;
        let rx = guard
            .as_mut()
            .ok_or_else(|| ConnectError::other("poll before start"))?;
        let mut stop = self.stop.subscribe();
        if *stop.borrow() {
            return Err(ConnectError::Stopped);
        }
        let first = tokio::select! {
            e = rx.recv() => e,
            _ = stop.changed() => return Err(ConnectError::Stopped),
            _ = tokio::time::sleep(Duration::from_millis(200)) => return Ok(Vec::new()),
        };
        let mut out = Vec::new();
        let mut next = first;
        loop {
            match next {
                Some(Event::Record(r)) => out.push(*r),
                None => return Err(ConnectError::Stopped),
            }
            if out.len() >= 500 {
                break;
            }
            match rx.try_recv() {
                Ok(e) => next = Some(e),
                Err(_) => break,
            }
        }
        Ok(out)
    }

    /// AA for a message that is durable in Kafka or that a transform dropped on purpose (accepted,
    /// nothing to store: a resend would only be dropped again); AE for one the pipeline failed.
    async fn record_settled(
        &self,
        pos: &RecordPosition,
        outcome: RecordOutcome<'_>,
    ) -> Result<(), ConnectError> {
        let Some(seq) = pos.source_offset.get("seq").and_then(|s| s.as_u64()) else {
            return Ok(());
        };
        let waiting = self
            .shared
            .pending
            .lock()
            .ok()
            .and_then(|mut p| p.remove(&seq));
        let Some(w) = waiting else { return Ok(()) };
        let code = match outcome {
            RecordOutcome::Written(_) | RecordOutcome::Filtered => AckCode::AA,
            RecordOutcome::Failed => AckCode::AE,
        };
        if let (Some(key), Ok(mut d)) = (w.dedup, self.shared.dedup.lock()) {
            if code == AckCode::AA {
                d.insert(key, DedupState::Acked(Instant::now()));
            } else {
                d.map.remove(&key);
            }
        }
        for waiter in w.waiters {
            let _ = waiter.send(code);
        }
        Ok(())
    }

    async fn stop(&self) -> Result<(), ConnectError> {
        let _ = self.stop.send(true);
        Ok(())
    }
}

/// Binds the listener. A port still held by a task that is going away (a restart right after a
/// crash) is retried for a few seconds before the start fails.
async fn bind(addr: &str) -> Result<TcpListener, ConnectError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => {
                return Err(ConnectError::io(
                    format!("binding MLLP listener on {addr} (mllp.bind)"),
                    e,
                ))
            }
        }
    }
}

#[derive(Clone)]
struct Conn {
    cfg: Arc<MllpSourceConfig>,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Event>,
    partition: Arc<OffsetMap>,
    reporter: Option<Arc<ErrantRecordReporter>>,
}

/// What to answer a frame with, and whether to close the connection after it.
struct Reply {
    ack: Vec<u8>,
    close: bool,
}

impl Conn {
    async fn serve<S>(self, mut stream: S, peer: SocketAddr, mut stop: watch::Receiver<bool>)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut dec = FrameDecoder::new(self.cfg.max_message_bytes);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = tokio::select! {
                _ = stop.changed() => return,
                r = tokio::time::timeout(self.cfg.idle_timeout, stream.read(&mut buf)) => match r {
                    Ok(Ok(0)) => return,
                    Err(_) => {
                        tracing::debug!(%peer, "MLLP connection idle; closed");
                        return;
                    }
                    Ok(Ok(n)) => n,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "MLLP connection closed");
                        return;
                    }
                },
            };
            dec.extend(&buf[..n]);
            while let Some(frame) = dec.next_frame() {
                let reply = match frame {
                    Ok(bytes) => self.handle(bytes).await,
                    Err(FrameError::TooLarge { limit, head, size }) => {
                        Some(self.too_large(limit, head, size).await)
                    }
                    Err(FrameError::Garbage(n)) => {
                        tracing::warn!(%peer, bytes = n, "skipped bytes outside MLLP frames");
                        None
                    }
                };
                if let Some(reply) = reply {
                    if stream.write_all(&encode_frame(&reply.ack)).await.is_err() {
                        return;
                    }
                    if reply.close {
                        // errors.tolerance=none: this sender's conversation ends here; the listener
                        // and the other connections go on.
                        let _ = stream.flush().await;
                        tracing::info!(%peer, "MLLP connection closed after a negative acknowledgement (errors.tolerance=none)");
                        return;
                    }
                }
            }
        }
    }

    fn next_ack_id(&self) -> String {
        format!("ACK{}", self.shared.seq.fetch_add(1, Ordering::Relaxed))
    }

    /// Sends raw bytes that could not become a record to the DLQ (with `errors.tolerance=all` and a
    /// DLQ topic); with `none` the reporter only logs. Never fails the listener.
    async fn report_raw(&self, raw: RawRecord, err: &ConnectError) {
        if let Some(rep) = &self.reporter {
            if let Err(e) = rep.report_raw(&raw, err).await {
                if rep.tolerates() {
                    tracing::error!(error = %e, "MLLP message could not be written to the dead letter queue");
                }
            }
        }
    }

    /// AR for an oversized frame; its first `mllp.max.message.bytes` bytes go to the DLQ with headers
    /// saying it was truncated and how large it was.
    async fn too_large(&self, limit: usize, head: Bytes, size: usize) -> Reply {
        let err = ConnectError::Data(DataError::new(format!(
            "MLLP frame of {size} bytes exceeds mllp.max.message.bytes ({limit})"
        )));
        let raw = RawRecord {
            topic: Arc::from(self.cfg.default_topic.as_str()),
            partition: -1,
            offset: -1,
            value: Some(head),
            headers: vec![
                (
                    "mllp.truncated".to_owned(),
                    Some(Bytes::from_static(b"true")),
                ),
                (
                    "mllp.original.bytes".to_owned(),
                    Some(Bytes::from(size.to_string())),
                ),
            ],
            ..Default::default()
        };
        self.report_raw(raw, &err).await;
        Reply {
            ack: build_ack(
                None,
                AckCode::AR,
                &self.next_ack_id(),
                Some(("100", &format!("message larger than {limit} bytes"))),
            ),
            close: self.cfg.close_on_error,
        }
    }

    /// Handles one message; returns the ACK to send (None when the task is stopping).
    async fn handle(&self, bytes: Bytes) -> Option<Reply> {
        let msg = match Message::parse(bytes.clone()) {
            Ok(m) => m,
            Err(e) => {
                let err =
                    ConnectError::Data(DataError::new(format!("unparseable HL7 message: {e}")));
                let raw = RawRecord {
                    topic: Arc::from(self.cfg.default_topic.as_str()),
                    partition: -1,
                    offset: -1,
                    value: Some(bytes),
                    ..Default::default()
                };
                self.report_raw(raw, &err).await;
                return Some(Reply {
                    ack: build_ack(
                        None,
                        AckCode::AR,
                        &self.next_ack_id(),
                        Some(("100", &e.to_string())),
                    ),
                    close: self.cfg.close_on_error,
                });
            }
        };
        let key: DedupKey = (
            msg.get("MSH-3").unwrap_or_default(),
            msg.get("MSH-4").unwrap_or_default(),
            msg.control_id().unwrap_or_default(),
        );
        let (tx, rx) = oneshot::channel();
        let record = {
            let mut dedup = self.shared.dedup.lock().ok()?;
            let now = Instant::now();
            dedup.prune(now);
            match dedup.map.get(&key) {
                Some(DedupState::Acked(_)) if !key.2.is_empty() => {
                    return Some(Reply {
                        ack: build_ack(Some(&msg), AckCode::AA, &self.next_ack_id(), None),
                        close: false,
                    });
                }
                Some(DedupState::Pending(seq, _)) if !key.2.is_empty() => {
                    if let Some(w) = self.shared.pending.lock().ok()?.get_mut(seq) {
                        w.waiters.push(tx);
                    }
                    None
                }
                _ => {
                    let seq = self.shared.seq.fetch_add(1, Ordering::Relaxed);
                    let dedup_key = (!key.2.is_empty()).then(|| key.clone());
                    if let Some(k) = &dedup_key {
                        dedup.insert(k.clone(), DedupState::Pending(seq, now));
                    }
                    self.shared.pending.lock().ok()?.insert(
                        seq,
                        Waiting {
                            waiters: vec![tx],
                            dedup: dedup_key,
                        },
                    );
                    Some(self.record(&msg, seq, &key))
                }
            }
        };
        if let Some(r) = record {
            if self.tx.send(Event::Record(Box::new(r))).await.is_err() {
                return None;
            }
        }
        let code = rx.await.ok()?;
        let err =
            (code != AckCode::AA).then_some(("207", "message could not be stored; resend it"));
        Some(Reply {
            ack: build_ack(Some(&msg), code, &self.next_ack_id(), err),
            close: code != AckCode::AA && self.cfg.close_on_error,
        })
    }

    fn record(&self, msg: &Message, seq: u64, dedup: &DedupKey) -> SourceRecord {
        let (ty, event) = msg.message_type().unwrap_or_default();
        let topic = self.cfg.route(&ty, &event).to_owned();
        let key = self
            .cfg
            .key_path
            .as_ref()
            .and_then(|p| msg.get_at(p))
            .map(Value::String)
            .unwrap_or(Value::Null);
        let (value_schema, value) = if self.cfg.structured {
            (None, structured::to_value(msg))
        } else {
            (
                Some(Schema::string()),
                Value::String(msg.decode_text(msg.raw())),
            )
        };
        let mut record = ConnectRecord {
            topic,
            key_schema: Some(Schema::optional_string()),
            key,
            value_schema,
            value,
            ..Default::default()
        };
        record
            .headers
            .add_string("hl7.message.type", format!("{ty}^{event}"));
        if let Some(id) = msg.control_id() {
            record.headers.add_string("hl7.control.id", id);
        }
        let persisted = !dedup.2.is_empty()
            && self.shared.persists(
                &format!("{}|{}", dedup.0, dedup.1),
                self.cfg.dedup_persist_max_senders,
            );
        match partition_of(
            &self.cfg.bind,
            dedup,
            self.cfg.dedup_persist_slots,
            persisted,
        ) {
            Some(p) => SourceRecord::new(
                Arc::new(p),
                [
                    ("seq".to_string(), serde_json::json!(seq)),
                    ("control_id".to_string(), serde_json::json!(dedup.2)),
                    ("received_ms".to_string(), serde_json::json!(now_ms())),
                ]
                .into_iter()
                .collect(),
                record,
            ),
            None => SourceRecord::new(
                self.partition.clone(),
                [("seq".to_string(), serde_json::json!(seq))]
                    .into_iter()
                    .collect(),
                record,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders_with_persisted_ids_are_bounded() {
        let s = Shared::default();
        for i in 0..10 {
            assert_eq!(s.persists(&format!("APP{i}|FAC"), 3), i < 3, "sender {i}");
        }
        assert!(s.persists("APP0|FAC", 3), "a known sender stays persisted");
        assert_eq!(s.persisted_senders.lock().unwrap().len(), 3);
    }

    #[test]
    fn only_persisted_senders_with_ids_get_their_own_partition() {
        let key = |id: &str| ("ADT".to_owned(), "HOSP".to_owned(), id.to_owned());
        let p = partition_of("0.0.0.0:2575", &key("M1"), 256, true).unwrap();
        assert_eq!(p.get("sender"), Some(&serde_json::json!("ADT|HOSP")));
        assert!(p
            .get("slot")
            .and_then(|s| s.as_u64())
            .is_some_and(|s| s < 256));
        assert_eq!(
            partition_of("0.0.0.0:2575", &key("M1"), 256, true),
            Some(p),
            "the slot of an id is stable"
        );
        assert!(partition_of("0.0.0.0:2575", &key("M1"), 256, false).is_none());
        assert!(partition_of("0.0.0.0:2575", &key(""), 256, true).is_none());
        assert!(partition_of("0.0.0.0:2575", &key("M1"), 0, true).is_none());
    }
}
