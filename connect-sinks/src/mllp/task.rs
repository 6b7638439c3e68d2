use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use connect_core::async_trait;
use connect_core::data::Value;
use connect_core::error::{ConnectError, DataError};
use connect_core::hl7::{structured, Message};
use connect_core::record::SinkRecord;
use connect_core::runtime::ErrantRecordReporter;
use connect_core::sink::{SinkTask, SinkTaskContext, TopicPartition};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use super::MllpSinkConfig;

const VT: u8 = 0x0B;
const FS: u8 = 0x1C;
const CR: u8 = 0x0D;

/// A connection to the receiver, plain or TLS.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Stream for T {}

/// Sends records to an MLLP receiver. See the [module docs](super).
#[derive(Default)]
pub struct MllpSinkTask {
    cfg: Option<MllpSinkConfig>,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    conn: Option<Box<dyn Stream>>,
    buf: Vec<u8>,
    reporter: Option<Arc<ErrantRecordReporter>>,
    /// Per partition, the offset of the last record settled (acknowledged or reported), so a
    /// redelivered batch does not send it again.
    settled: HashMap<(Arc<str>, i32), i64>,
}

enum Outcome {
    Accepted,
    Rejected(String),
}

impl MllpSinkTask {
    fn cfg(&self) -> Result<&MllpSinkConfig, ConnectError> {
        self.cfg
            .as_ref()
            .ok_or_else(|| ConnectError::other("MLLP sink not started"))
    }

    async fn connection(&mut self) -> Result<&mut Box<dyn Stream>, ConnectError> {
        if self.conn.is_none() {
            let cfg = self.cfg()?.clone();
            let connect = async {
                let tcp = TcpStream::connect(&cfg.address).await.map_err(|e| {
                    ConnectError::retriable(format!("connecting to {}: {e}", cfg.address))
                })?;
                let stream: Box<dyn Stream> = match &self.tls {
                    None => Box::new(tcp),
                    Some((connector, name)) => {
                        Box::new(connector.connect(name.clone(), tcp).await.map_err(|e| {
                            ConnectError::retriable(format!(
                                "TLS handshake with {}: {e}",
                                cfg.address
                            ))
                        })?)
                    }
                };
                Ok::<_, ConnectError>(stream)
            };
            let stream = tokio::time::timeout(cfg.connect_timeout, connect)
                .await
                .map_err(|_| {
                    ConnectError::retriable(format!("connecting to {} timed out", cfg.address))
                })??;
            self.buf.clear();
            self.conn = Some(stream);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| ConnectError::other("no connection"))
    }

    /// Sends one message and waits for its ACK; any transport problem drops the connection.
    async fn exchange(&mut self, msg: &Message) -> Result<Outcome, ConnectError> {
        let res = self.exchange_inner(msg).await;
        if res.is_err() {
            self.conn = None;
        }
        res
    }

    async fn exchange_inner(&mut self, msg: &Message) -> Result<Outcome, ConnectError> {
        let timeout = self.cfg()?.ack_timeout;
        let control_id = msg.control_id().unwrap_or_default();
        let mut frame = Vec::with_capacity(msg.raw().len() + 3);
        frame.push(VT);
        frame.extend_from_slice(msg.raw());
        frame.extend_from_slice(&[FS, CR]);
        let conn = self.connection().await?;
        conn.write_all(&frame)
            .await
            .map_err(|e| ConnectError::retriable(format!("sending to the MLLP receiver: {e}")))?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(ack) = self.take_frame() {
                let Ok(ack) = Message::parse(ack) else {
                    tracing::warn!("skipping an unparseable reply from the MLLP receiver");
                    continue;
                };
                if ack.get("MSA-2").unwrap_or_default() != control_id {
                    tracing::warn!("skipping an ACK for another message");
                    continue;
                }
                let code = ack.get("MSA-1").unwrap_or_default().to_ascii_uppercase();
                return Ok(match code.as_str() {
                    "AA" | "CA" => Outcome::Accepted,
                    other => Outcome::Rejected(format!(
                        "receiver answered {other}{}",
                        ack.get("ERR-3.2")
                            .or_else(|| ack.get("MSA-3"))
                            .map(|t| format!(": {t}"))
                            .unwrap_or_default()
                    )),
                });
            }
            let mut chunk = [0u8; 8192];
            let conn = self
                .conn
                .as_mut()
                .ok_or_else(|| ConnectError::retriable("connection lost"))?;
            let n = tokio::time::timeout_at(deadline, conn.read(&mut chunk))
                .await
                .map_err(|_| {
                    ConnectError::retriable(format!(
                        "no ACK for message {control_id} within {timeout:?}"
                    ))
                })?
                .map_err(|e| ConnectError::retriable(format!("reading the ACK: {e}")))?;
            if n == 0 {
                return Err(ConnectError::retriable(
                    "the MLLP receiver closed the connection",
                ));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn take_frame(&mut self) -> Option<Bytes> {
        let start = self.buf.iter().position(|&b| b == VT)?;
        let end = self.buf[start..].windows(2).position(|w| w == [FS, CR])? + start;
        let frame = Bytes::copy_from_slice(&self.buf[start + 1..end]);
        self.buf.drain(..end + 2);
        Some(frame)
    }

    async fn errant(&self, record: &SinkRecord, err: ConnectError) -> Result<(), ConnectError> {
        match &self.reporter {
            Some(r) => r.report(record, &err).await,
            None => Err(err),
        }
    }
}

/// The record's message bytes: HL7 text, bytes, or the structured map form (re-encoded).
fn hl7_bytes(record: &SinkRecord) -> Option<Result<Bytes, String>> {
    match &record.record.value {
        Value::String(s) => Some(Ok(Bytes::copy_from_slice(s.as_bytes()))),
        Value::Bytes(b) => Some(Ok(b.clone())),
        v @ Value::Map(_) => Some(
            structured::from_value(v)
                .map(Bytes::from)
                .map_err(|e| e.to_string()),
        ),
        _ => None,
    }
}

#[async_trait]
impl SinkTask for MllpSinkTask {
    async fn start(&mut self, ctx: SinkTaskContext) -> Result<(), ConnectError> {
        let cfg = MllpSinkConfig::parse(&ctx.config)?;
        // TLS material is loaded at start, so a bad file fails the task with its key named.
        self.tls = cfg.tls.as_ref().map(|t| t.connector()).transpose()?;
        self.cfg = Some(cfg);
        self.reporter = ctx.errant_record_reporter.clone();
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        for r in records {
            let key = (r.original.topic.clone(), r.original.partition);
            if self
                .settled
                .get(&key)
                .is_some_and(|o| *o >= r.original.offset)
            {
                continue;
            }
            if r.record.value.is_null() {
                self.settled.insert(key, r.original.offset);
                continue;
            }
            let parsed =
                hl7_bytes(r).map(|b| b.and_then(|b| Message::parse(b).map_err(|e| e.to_string())));
            let msg = match parsed {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    self.errant(
                        r,
                        DataError::new(format!("record value is not HL7: {e}")).into(),
                    )
                    .await?;
                    self.settled.insert(key, r.original.offset);
                    continue;
                }
                None => {
                    let err = DataError::new(format!(
                        "record value is a {}, expected HL7 text, bytes or a structured HL7 map",
                        r.record.value.type_name()
                    ));
                    self.errant(r, err.into()).await?;
                    self.settled.insert(key, r.original.offset);
                    continue;
                }
            };
            match self.exchange(&msg).await? {
                Outcome::Accepted => {}
                Outcome::Rejected(why) => self.errant(r, ConnectError::other(why)).await?,
            }
            self.settled.insert(key, r.original.offset);
        }
        Ok(())
    }

    async fn close(&mut self, partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        self.settled.retain(|(t, p), _| {
            !partitions
                .iter()
                .any(|tp| *tp.topic == **t && tp.partition == *p)
        });
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        self.conn = None;
        Ok(())
    }
}
