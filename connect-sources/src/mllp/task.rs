use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use connect_core::async_trait;
use connect_core::data::{Schema, Value};
use connect_core::error::{ConnectError, DataError};
use connect_core::hl7::{structured, Message};
use connect_core::record::{ConnectRecord, OffsetMap, SourceRecord};
use connect_core::runtime::{ErrantRecordReporter, RawRecord};
use connect_core::source::{RecordMetadata, RecordPosition, SourceTask, SourceTaskContext};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

use super::{build_ack, encode_frame, AckCode, FrameDecoder, FrameError, MllpSourceConfig};

type DedupKey = (String, String, String);

enum DedupState {
    /// The first copy is on its way to Kafka (its sequence number).
    Pending(u64),
    /// Durable since then.
    Acked(Instant),
}

struct Waiting {
    waiters: Vec<oneshot::Sender<AckCode>>,
    dedup: Option<DedupKey>,
}

#[derive(Default)]
struct Shared {
    seq: AtomicU64,
    pending: Mutex<HashMap<u64, Waiting>>,
    dedup: Mutex<HashMap<DedupKey, DedupState>>,
    last_prune: Mutex<Option<Instant>>,
}

enum Event {
    Record(Box<SourceRecord>),
    Fatal(ConnectError),
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
        // TLS material is loaded before binding, so a bad file fails the start with its key named.
        let tls = cfg.tls.as_ref().map(|t| t.acceptor()).transpose()?;
        let listener = TcpListener::bind(&cfg.bind)
            .await
            .map_err(|e| ConnectError::io(format!("binding MLLP listener on {}", cfg.bind), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| ConnectError::io("reading the listener address", e))?;
        if let Ok(mut a) = self.local_addr.lock() {
            *a = Some(addr);
        }
        tracing::info!(%addr, tls = tls.is_some(), "MLLP listener started");
        let (tx, rx) = mpsc::channel(1024);
        *self.rx.get_mut() = Some(rx);
        let partition: Arc<OffsetMap> =
            Arc::new([("mllp".to_string(), serde_json::json!(cfg.bind))].into());
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
                            let c = conn.clone();
                            let stop = stop.clone();
                            let tls = tls.clone();
                            tokio::spawn(async move {
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
                Some(Event::Fatal(e)) => return Err(e),
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

    async fn commit_record(
        &self,
        pos: &RecordPosition,
        meta: Option<&RecordMetadata>,
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
        // Only a record the broker acknowledged is accepted; anything else is an application error.
        let code = if meta.is_some() {
            AckCode::AA
        } else {
            AckCode::AE
        };
        if let (Some(key), Ok(mut d)) = (w.dedup, self.shared.dedup.lock()) {
            if code == AckCode::AA {
                d.insert(key, DedupState::Acked(Instant::now()));
            } else {
                d.remove(&key);
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

#[derive(Clone)]
struct Conn {
    cfg: Arc<MllpSourceConfig>,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Event>,
    partition: Arc<OffsetMap>,
    reporter: Option<Arc<ErrantRecordReporter>>,
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
                    Ok(Ok(0)) | Err(_) => return,
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
                    Err(FrameError::TooLarge(max)) => Some(build_ack(
                        None,
                        AckCode::AR,
                        &self.next_ack_id(),
                        Some(("100", &format!("message larger than {max} bytes"))),
                    )),
                    Err(FrameError::Garbage(n)) => {
                        tracing::warn!(%peer, bytes = n, "skipped bytes outside MLLP frames");
                        None
                    }
                };
                if let Some(ack) = reply {
                    if stream.write_all(&encode_frame(&ack)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    fn next_ack_id(&self) -> String {
        format!("ACK{}", self.shared.seq.fetch_add(1, Ordering::Relaxed))
    }

    /// Handles one message; returns the ACK to send (None when the task is stopping).
    async fn handle(&self, bytes: Bytes) -> Option<Vec<u8>> {
        let msg = match Message::parse(bytes.clone()) {
            Ok(m) => m,
            Err(e) => {
                let err =
                    ConnectError::Data(DataError::new(format!("unparseable HL7 message: {e}")));
                if let Some(rep) = &self.reporter {
                    let raw = RawRecord {
                        topic: Arc::from(self.cfg.default_topic.as_str()),
                        partition: -1,
                        offset: -1,
                        value: Some(bytes),
                        ..Default::default()
                    };
                    if let Err(fatal) = rep.report_raw(&raw, &err).await {
                        let _ = self.tx.send(Event::Fatal(fatal)).await;
                    }
                }
                return Some(build_ack(
                    None,
                    AckCode::AR,
                    &self.next_ack_id(),
                    Some(("100", &e.to_string())),
                ));
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
            self.prune(&mut dedup);
            match dedup.get(&key) {
                Some(DedupState::Acked(_)) if !key.2.is_empty() => {
                    return Some(build_ack(
                        Some(&msg),
                        AckCode::AA,
                        &self.next_ack_id(),
                        None,
                    ));
                }
                Some(DedupState::Pending(seq)) if !key.2.is_empty() => {
                    if let Some(w) = self.shared.pending.lock().ok()?.get_mut(seq) {
                        w.waiters.push(tx);
                    }
                    None
                }
                _ => {
                    let seq = self.shared.seq.fetch_add(1, Ordering::Relaxed);
                    let dedup_key = (!key.2.is_empty()).then(|| key.clone());
                    if let Some(k) = &dedup_key {
                        dedup.insert(k.clone(), DedupState::Pending(seq));
                    }
                    self.shared.pending.lock().ok()?.insert(
                        seq,
                        Waiting {
                            waiters: vec![tx],
                            dedup: dedup_key,
                        },
                    );
                    Some(self.record(&msg, seq))
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
        Some(build_ack(Some(&msg), code, &self.next_ack_id(), err))
    }

    fn prune(&self, dedup: &mut HashMap<DedupKey, DedupState>) {
        let Ok(mut last) = self.shared.last_prune.lock() else {
            return;
        };
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return;
        }
        *last = Some(Instant::now());
        let window = self.cfg.dedup_window;
        dedup.retain(|_, s| match s {
            DedupState::Acked(t) => t.elapsed() < window,
            DedupState::Pending(_) => true,
        });
    }

    fn record(&self, msg: &Message, seq: u64) -> SourceRecord {
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
        SourceRecord::new(
            self.partition.clone(),
            [("seq".to_string(), serde_json::json!(seq))].into(),
            record,
        )
    }
}
