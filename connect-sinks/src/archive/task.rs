//! The sink task. Per topic partition, records are appended to one file per encoded partition; the
//! files are written as objects when the partition reaches `flush.size` records, when a record is
//! `rotate.interval.ms` of record time past the files' first, or on the `rotate.schedule.interval.ms`
//! clock. File boundaries depend only on the records from the last committed offset (except with the
//! wall clock), and object names on their first offsets, so a replay after a crash writes the same
//! objects again: each record is in the archive once. `pre_commit` reports, per partition, the first
//! offset not yet in an object.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use connect_core::converter::JsonConverter;
use connect_core::error::{ConnectError, DataError};
use connect_core::record::SinkRecord;
use connect_core::runtime::ErrantRecordReporter;
use connect_core::sink::{PartitionOffsets, SinkTask, SinkTaskContext, TopicPartition};
use object_store::{path::Path, ObjectStore, ObjectStoreExt, PutPayload};

use super::config::{ArchiveSinkConfig, NullValues, Store};
use super::format::Format;
use super::parquet;
use connect_core::data::{Schema, Value};

/// One open file: its first offset and content so far; once being written, its final content
/// (kept until the write succeeds, shared with the request, not copied).
struct OpenFile {
    start: i64,
    data: Vec<u8>,
    /// Parquet: the rows and their schema, written when the file is.
    rows: Vec<Value>,
    schema: Option<Schema>,
    sealed: Option<bytes::Bytes>,
}

impl OpenFile {
    fn new(start: i64) -> Self {
        OpenFile {
            start,
            data: Vec::new(),
            rows: Vec::new(),
            schema: None,
            sealed: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty() && self.rows.is_empty() && self.sealed.is_none()
    }
}

/// The open files of one topic partition.
#[derive(Default)]
struct PartitionWriter {
    files: BTreeMap<String, OpenFile>,
    records: usize,
    /// A write of the files was started and has not succeeded yet.
    pending: bool,
    /// The offset after the last record taken (a redelivered batch skips what is below it).
    next: Option<i64>,
    first_time: Option<i64>,
}

struct State {
    cfg: ArchiveSinkConfig,
    store: Arc<dyn ObjectStore>,
    writers: HashMap<TopicPartition, PartitionWriter>,
    reporter: Option<Arc<ErrantRecordReporter>>,
    json: JsonConverter,
    next_schedule: Option<Instant>,
}

/// An archive (S3 / object store) sink task.
#[derive(Default)]
pub struct ArchiveSinkTask {
    state: Option<State>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl State {
    async fn errant(&self, rec: &SinkRecord, e: DataError) -> Result<(), ConnectError> {
        match &self.reporter {
            Some(r) => r.report(rec, &ConnectError::Data(e)).await,
            None => Err(ConnectError::Data(e)),
        }
    }

    /// Writes the partition's open files as objects, then forgets them.
    async fn flush(&mut self, tp: &TopicPartition) -> Result<(), ConnectError> {
        let Some(w) = self.writers.get_mut(tp) else {
            return Ok(());
        };
        w.pending = true;
        for (encoded, f) in w.files.iter_mut() {
            let name = self
                .cfg
                .object_name(&tp.topic, encoded, tp.partition, f.start);
            if f.sealed.is_none() {
                let raw = match (&self.cfg.format, &f.schema) {
                    (Format::Parquet(codec), Some(schema)) => {
                        parquet::encode(schema, &f.rows, *codec)
                            .map_err(|e| ConnectError::other(format!("object {name}: {}", e.0)))?
                    }
                    _ => std::mem::take(&mut f.data),
                };
                f.rows = Vec::new();
                f.sealed = Some(bytes::Bytes::from(self.cfg.compression.finish(raw)));
            }
            let content = f.sealed.clone().unwrap_or_default();
            self.store
                .put(&Path::from(name.as_str()), PutPayload::from(content))
                .await
                .map_err(|e| write_error(&self.cfg.store, &name, e))?;
            tracing::debug!(object = %name, "archive object written");
        }
        w.files.clear();
        w.pending = false;
        w.records = 0;
        w.first_time = None;
        Ok(())
    }

    async fn flush_due(&mut self) -> Result<(), ConnectError> {
        let due: Vec<TopicPartition> = self
            .writers
            .iter()
            .filter(|(_, w)| w.pending || w.records >= self.cfg.flush_size)
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in due {
            self.flush(&tp).await?;
        }
        if let (Some(at), Some(every)) = (self.next_schedule, self.cfg.rotate_schedule_ms) {
            if Instant::now() >= at {
                let all: Vec<TopicPartition> = self.writers.keys().cloned().collect();
                for tp in all {
                    self.flush(&tp).await?;
                }
                self.next_schedule = Some(Instant::now() + Duration::from_millis(every as u64));
            }
        }
        Ok(())
    }

    /// Marks `offset` as taken: a redelivered batch skips it.
    fn taken(&mut self, tp: &TopicPartition, offset: i64) {
        if let Some(w) = self.writers.get_mut(tp) {
            w.next = Some(offset + 1);
        }
    }

    /// Takes one record. An error before the record is in a file leaves it to be taken again when
    /// the runtime hands the batch back; once it is in a file (or reported), it is marked taken.
    async fn take(&mut self, rec: &SinkRecord) -> Result<(), ConnectError> {
        let tp = TopicPartition::new(rec.original.topic.as_ref(), rec.original.partition);
        let offset = rec.original.offset;
        let w = self.writers.entry(tp.clone()).or_default();
        if w.next.is_some_and(|n| offset < n) {
            return Ok(());
        }
        if rec.record.value.is_null() {
            if self.cfg.null_values == NullValues::Fail {
                let e = DataError::new(format!(
                    "record {} has a null value (behavior.on.null.values=fail)",
                    rec.original
                ));
                self.errant(rec, e).await?;
            }
            self.taken(&tp, offset);
            return Ok(());
        }
        let now = now_ms();
        let time = self.cfg.partitioner.record_time(rec, now);
        if let (Some(every), Some(first), Some(t)) = (
            self.cfg.rotate_interval_ms,
            self.writers.get(&tp).and_then(|w| w.first_time),
            time,
        ) {
            if t.saturating_sub(first) >= every {
                self.flush(&tp).await?;
            }
        }
        let encoded = match self.cfg.partitioner.encode(rec, now) {
            Ok(e) => e,
            Err(e) => {
                self.errant(rec, e).await?;
                self.taken(&tp, offset);
                return Ok(());
            }
        };
        if let Format::Parquet(_) = self.cfg.format {
            let schema = match (&rec.record.value, &rec.record.value_schema) {
                (Value::Struct(_), Some(s)) if parquet::arrow_schema(s).is_ok() => s.clone(),
                _ => {
                    let e = match rec.record.value_schema.as_ref().map(parquet::arrow_schema) {
                        Some(Err(e)) => DataError::new(format!("record {}: {}", rec.original, e.0)),
                        _ => DataError::new(format!(
                            "record {}: ParquetFormat needs struct values with a schema (JsonConverter with schemas.enable=true)",
                            rec.original
                        )),
                    };
                    self.errant(rec, e).await?;
                    self.taken(&tp, offset);
                    return Ok(());
                }
            };
            // A new schema starts new files, as Confluent's sink rotates on a schema change.
            let changed = self.writers.get(&tp).is_some_and(|w| {
                w.files
                    .get(&encoded)
                    .and_then(|f| f.schema.as_ref())
                    .is_some_and(|s| *s != schema)
            });
            if changed {
                self.flush(&tp).await?;
            }
            let w = self.writers.entry(tp.clone()).or_default();
            let file = w
                .files
                .entry(encoded)
                .or_insert_with(|| OpenFile::new(offset));
            file.schema.get_or_insert(schema);
            file.rows.push(rec.record.value.clone());
        } else {
            let w = self.writers.entry(tp.clone()).or_default();
            let file = w
                .files
                .entry(encoded)
                .or_insert_with(|| OpenFile::new(offset));
            let before = file.data.len();
            if let Err(e) = self.cfg.format.write(&self.json, rec, &mut file.data) {
                file.data.truncate(before);
                w.files.retain(|_, f| !f.is_empty());
                self.errant(rec, e).await?;
                self.taken(&tp, offset);
                return Ok(());
            }
        }
        let w = self.writers.entry(tp.clone()).or_default();
        w.next = Some(offset + 1);
        w.records += 1;
        if w.first_time.is_none() {
            w.first_time = time;
        }
        if w.records >= self.cfg.flush_size {
            self.flush(&tp).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl SinkTask for ArchiveSinkTask {
    async fn start(&mut self, ctx: SinkTaskContext) -> Result<(), ConnectError> {
        let cfg = ArchiveSinkConfig::parse(&ctx.config)?;
        let store = cfg.store.open()?;
        tracing::info!(store = ?cfg.store, "archive sink started");
        let next_schedule = cfg
            .rotate_schedule_ms
            .map(|ms| Instant::now() + Duration::from_millis(ms as u64));
        self.state = Some(State {
            cfg,
            store,
            writers: HashMap::new(),
            reporter: ctx.errant_record_reporter,
            json: JsonConverter::new(false),
            next_schedule,
        });
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        let Some(st) = self.state.as_mut() else {
            return Err(ConnectError::other("put before start"));
        };
        // A flush that failed before (the batch was handed back) is tried first.
        st.flush_due().await?;
        for r in records {
            st.take(r).await?;
        }
        st.flush_due().await
    }

    async fn pre_commit(
        &mut self,
        offsets: &PartitionOffsets,
    ) -> Result<PartitionOffsets, ConnectError> {
        let Some(st) = self.state.as_mut() else {
            return Ok(PartitionOffsets::new());
        };
        st.flush_due().await?;
        let mut out = offsets.clone();
        for (tp, w) in &st.writers {
            if let Some(first) = w.files.values().map(|f| f.start).min() {
                out.insert(tp.clone(), first);
            }
        }
        Ok(out)
    }

    async fn close(&mut self, partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        if let Some(st) = self.state.as_mut() {
            for tp in partitions {
                st.writers.remove(tp);
            }
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        self.state = None;
        Ok(())
    }
}

/// A failed write: refused credentials and a missing bucket or container fail the task (retrying
/// cannot mend them) naming the keys to check; anything else (the store down, a timeout, a 5xx
/// after object_store's own retries) is retriable, so the runtime hands the batch back.
fn write_error(store: &Store, name: &str, e: object_store::Error) -> ConnectError {
    match e {
        object_store::Error::Unauthenticated { .. }
        | object_store::Error::PermissionDenied { .. } => ConnectError::other(format!(
            "writing object {name}: the store refused the credentials (check {}): {e}",
            store.credential_keys()
        )),
        object_store::Error::NotFound { .. } => ConnectError::other(format!(
            "writing object {name}: the store has no such bucket or container (check {}): {e}",
            store.location_keys()
        )),
        e => ConnectError::retriable(format!("writing object {name}: {e}")),
    }
}
