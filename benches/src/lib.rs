//! Fixtures shared by the benches: a 20-field patient-encounter record and bench connectors.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use connect_core::async_trait;
use connect_core::config::{ConfigDef, Props};
use connect_core::data::{Decimal, Schema, SchemaBuilder, Struct, Value};
use connect_core::error::ConnectError;
use connect_core::record::{ConnectRecord, OffsetMap, SinkRecord, SourceRecord};
use connect_core::sink::{SinkConnector, SinkTask, SinkTaskContext};
use connect_core::source::{SourceConnector, SourceTask, SourceTaskContext};

/// A global allocator that counts the allocations (and reallocations) made through it while a
/// [`counting`] guard is alive, and hands every call to `A` unchanged: benches install it to report
/// allocations per record beside their timings.
///
/// Outside a counting window it costs one read of a flag that nobody writes, so the timed runs do
/// not pay for the instrument: a counter every thread bumps on every allocation is a cache line
/// bouncing between cores, which taxed the contender that allocates most.
///
/// ```ignore
/// #[global_allocator]
/// static GLOBAL: connect_benches::CountingAlloc<std::alloc::System> =
///     connect_benches::CountingAlloc(std::alloc::System);
/// ```
pub struct CountingAlloc<A>(pub A);

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static COUNTING: AtomicUsize = AtomicUsize::new(0);

/// Allocations made through [`CountingAlloc`] so far, by every thread, while counting.
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Counts allocations until the returned guard is dropped (guards may nest).
pub fn counting() -> Counting {
    COUNTING.fetch_add(1, Ordering::SeqCst);
    Counting(())
}

/// Keeps [`CountingAlloc`] counting while alive; see [`counting`].
pub struct Counting(());

impl Drop for Counting {
    fn drop(&mut self) {
        COUNTING.fetch_sub(1, Ordering::SeqCst);
    }
}

fn count_one() {
    if COUNTING.load(Ordering::Relaxed) > 0 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to the inner allocator unchanged; only a counter is added.
unsafe impl<A: std::alloc::GlobalAlloc> std::alloc::GlobalAlloc for CountingAlloc<A> {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's contract for `alloc` is passed on as it is.
        unsafe { self.0.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: `ptr` was allocated by the inner allocator with `layout`.
        unsafe { self.0.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: the caller's contract for `realloc` is passed on as it is.
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}

/// Installs the CDC benches' global allocator: a [`CountingAlloc`] over mimalloc, as a deployed worker
/// should run (BENCHMARKS.md, "Allocator"), or over the system allocator with
/// `--features system-alloc`, for the comparison.
#[macro_export]
macro_rules! cdc_global_allocator {
    () => {
        #[cfg(not(feature = "system-alloc"))]
        #[global_allocator]
        static GLOBAL: $crate::CountingAlloc<mimalloc::MiMalloc> =
            $crate::CountingAlloc(mimalloc::MiMalloc);
        #[cfg(feature = "system-alloc")]
        #[global_allocator]
        static GLOBAL: $crate::CountingAlloc<std::alloc::System> =
            $crate::CountingAlloc(std::alloc::System);
    };
}

/// A 20-field struct schema: the shape of a patient encounter row.
pub fn encounter_schema() -> Schema {
    SchemaBuilder::struct_()
        .name("clinical.encounters.encounter.Value")
        .field("encounter_id", Schema::int64())
        .field("mrn", Schema::string())
        .field("family_name", Schema::string())
        .field("given_name", Schema::string())
        .field("birth_date", Schema::date().build())
        .field("sex", Schema::string())
        .field("ward", Schema::string())
        .field("bed", Schema::optional_string())
        .field("attending_npi", Schema::string())
        .field("admitted_at", Schema::timestamp().build())
        .field("discharged_at", Schema::timestamp().optional().build())
        .field("acuity", Schema::int32())
        .field("weight_kg", Schema::float64())
        .field("height_cm", Schema::float32())
        .field("isolation", Schema::boolean())
        .field("charges", Schema::decimal(2).build())
        .field("diagnosis_code", Schema::string())
        .field("diagnosis_system", Schema::string())
        .field("visits", Schema::int16())
        .field("notes", Schema::optional_string())
        .build()
}

/// One encounter value of [`encounter_schema`].
pub fn encounter(id: i64) -> Struct {
    encounter_of(encounter_schema(), id)
}

/// One encounter value of `schema` (an [`encounter_schema`]): records decoded by a converter
/// share their schema (the JsonConverter caches it), as values made with one schema do.
pub fn encounter_of(schema: Schema, id: i64) -> Struct {
    let mut s = Struct::new(schema);
    let v: Vec<Value> = vec![
        Value::Int64(id),
        Value::String(format!("MRN-{id:08}")),
        "DOE".into(),
        "JANE".into(),
        Value::Date(7000),
        "F".into(),
        "ICU-EAST".into(),
        Value::Null,
        "1234567893".into(),
        Value::Timestamp(1_700_000_000_000 + id),
        Value::Null,
        Value::Int32(3),
        Value::Float64(72.5),
        Value::Float32(168.0),
        Value::Boolean(false),
        Value::Decimal(Decimal::new(1_234_567, 2)),
        "I21.4".into(),
        "http://hl7.org/fhir/sid/icd-10-cm".into(),
        Value::Int16(2),
        Value::String("Admitted via ED; chest pain".into()),
    ];
    for (i, x) in v.into_iter().enumerate() {
        s.put_index_unchecked(i, x);
    }
    s
}

/// A source that emits copies of one prebuilt value while it has budget.
#[derive(Clone)]
pub struct BudgetSource {
    /// Records still to emit; the bench adds to it.
    pub budget: Arc<AtomicU64>,
    /// The value every record carries.
    pub value: Value,
    /// Its schema.
    pub schema: Option<Schema>,
    /// The topic.
    pub topic: String,
    /// Build a source offset map per record (as a real source does) rather than one per batch.
    pub offset_per_record: bool,
}

impl SourceConnector for BudgetSource {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(BudgetTask {
            c: self.clone(),
            partition: Arc::new(OffsetMap::new()),
            seq: AtomicU64::new(0),
        })
    }
}

struct BudgetTask {
    c: BudgetSource,
    partition: Arc<OffsetMap>,
    seq: AtomicU64,
}

#[async_trait]
impl SourceTask for BudgetTask {
    async fn start(&mut self, _ctx: SourceTaskContext) -> Result<(), ConnectError> {
        self.partition = Arc::new(
            [("bench".to_string(), serde_json::json!(0))]
                .into_iter()
                .collect(),
        );
        Ok(())
    }
    async fn poll(&self) -> Result<Vec<SourceRecord>, ConnectError> {
        let take = self
            .c
            .budget
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                Some(b.saturating_sub(b.min(1000)))
            })
            .unwrap_or(0)
            .min(1000);
        if take == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
            return Ok(Vec::new());
        }
        let start = self.seq.fetch_add(take, Ordering::Relaxed);
        // One offset per batch, shared by its records: the runner's cost without the per-record
        // offset maps a real source builds (measured separately below).
        let shared_offset = Arc::new(OffsetMap::from_iter([(
            "seq".to_string(),
            serde_json::json!(start + take - 1),
        )]));
        Ok((start..start + take)
            .map(|i| {
                let source_offset = if self.c.offset_per_record {
                    Arc::new(OffsetMap::from_iter([(
                        "seq".to_string(),
                        serde_json::json!(i),
                    )]))
                } else {
                    shared_offset.clone()
                };
                SourceRecord {
                    source_partition: self.partition.clone(),
                    source_offset: source_offset.into(),
                    record: ConnectRecord {
                        topic: self.c.topic.clone(),
                        value_schema: self.c.schema.clone(),
                        value: self.c.value.clone(),
                        ..Default::default()
                    },
                }
            })
            .collect())
    }
    async fn stop(&self) -> Result<(), ConnectError> {
        Ok(())
    }
}

/// A sink that counts records and notes when the first and the `target`-th arrived.
#[derive(Clone, Default)]
pub struct CountingSink {
    /// Records put.
    pub count: Arc<AtomicU64>,
    /// Time of the first put and of the put that reached the target.
    pub times: Arc<Mutex<(Option<Instant>, Option<Instant>)>>,
    /// The count at which to note the end time.
    pub target: Arc<AtomicU64>,
}

impl SinkConnector for CountingSink {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(CountingTask(self.clone()))
    }
}

struct CountingTask(CountingSink);

#[async_trait]
impl SinkTask for CountingTask {
    async fn start(&mut self, _ctx: SinkTaskContext) -> Result<(), ConnectError> {
        Ok(())
    }
    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        let now = Instant::now();
        let mut t = self.0.times.lock().unwrap();
        if t.0.is_none() {
            t.0 = Some(now);
        }
        let n = self
            .0
            .count
            .fetch_add(records.len() as u64, Ordering::AcqRel)
            + records.len() as u64;
        if n >= self.0.target.load(Ordering::Acquire) && t.1.is_none() {
            t.1 = Some(now);
        }
        Ok(())
    }
    async fn stop(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }
}

/// Bytes of a schemaless JSON encounter, as a sink would read them.
pub fn encounter_json_bytes(id: i64) -> Bytes {
    use connect_core::converter::{Converter, JsonConverter};
    let s = encounter(id);
    let c = JsonConverter::new(false);
    c.from_connect_data("t", Some(s.schema()), &Value::Struct(s.clone()))
        .unwrap()
        .unwrap()
}

/// The runtime the runner and CDC benches drive workers on: two worker threads, as the machine has
/// two cores.
pub fn bench_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Worker props for a bench worker on the embedded cluster.
pub fn bench_worker_props() -> Props {
    Props::new().with("offset.flush.interval.ms", "1000")
}

/// `n` encounter records as a sink receives them: key `E-<i>`, the 20-field struct as value, offset
/// `i` of partition 0 of `topic`. The records share one schema, as a converter's records do.
pub fn encounter_sink_records(topic: &str, n: usize) -> Vec<SinkRecord> {
    let schema = encounter_schema();
    (0..n)
        .map(|i| SinkRecord {
            record: ConnectRecord {
                topic: topic.to_owned(),
                kafka_partition: Some(0),
                key: Value::String(format!("E-{i}")),
                value_schema: Some(schema.clone()),
                value: Value::Struct(encounter_of(schema.clone(), i as i64)),
                ..Default::default()
            },
            kafka_offset: i as i64,
            timestamp_type: connect_core::record::TimestampType::CreateTime,
            original: connect_core::record::TopicPartitionOffset {
                topic: topic.into(),
                partition: 0,
                offset: i as i64,
            },
        })
        .collect()
}

/// Runs `run` `iters` times on `rt` and adds up the durations each run reports (a connector run
/// times itself from its start to its last acknowledged record).
pub fn sum_runs<F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, mut run: F) -> std::time::Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::time::Duration>,
{
    rt.block_on(async {
        let mut total = std::time::Duration::ZERO;
        for _ in 0..iters {
            total += run().await;
        }
        total
    })
}

/// Times `iters` runs of `run` on `rt`, each of which must report `expected` items.
pub fn time_runs<F, Fut>(
    rt: &tokio::runtime::Runtime,
    iters: u64,
    expected: u64,
    mut run: F,
) -> std::time::Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    rt.block_on(async {
        let start = std::time::Instant::now();
        for _ in 0..iters {
            assert_eq!(run().await, expected);
        }
        start.elapsed()
    })
}

/// Starts connector `config` on `worker`, waits until its task has written `n` records to Kafka
/// (acknowledged by the broker), stops it, and returns the time from its start to that point.
pub async fn run_until_written(
    worker: &connect_core::runtime::Worker,
    config: connect_core::config::ConnectorConfig,
    n: u64,
) -> Duration {
    let name = config.name.clone();
    let started = Instant::now();
    let handle = worker.start_connector(config).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while handle.metrics().records_written < n {
        assert!(
            Instant::now() < deadline,
            "connector stalled: {:?} {:?}",
            handle.metrics(),
            handle.status()
        );
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    let elapsed = started.elapsed();
    worker.stop_connector(&name).await.unwrap();
    elapsed
}
