//! Single message transforms (SMTs) and predicates, as Kafka Connect's `Transformation` and `Predicate`,
//! and the chain that applies them in the configured order.
//!
//! A transform is generic over the record kind: one implementation `impl<R: Record> Transformation<R>`
//! serves source connectors (on [`SourceRecord`](crate::record::SourceRecord)s, before conversion) and
//! sink connectors (on [`SinkRecord`](crate::record::SinkRecord)s, after conversion).

use crate::config::{ConfigDef, Props};
use crate::error::{ConfigError, ConnectError};
use crate::record::Record;

/// One single message transform.
///
/// Lifecycle: the runtime creates the transform from its registry factory, calls
/// [`configure`](Transformation::configure) once with the keys under `transforms.ALIAS.` (prefix
/// removed), then [`apply`](Transformation::apply) for every record of every task that uses it, then
/// [`close`](Transformation::close) once when the connector stops.
pub trait Transformation<R: Record>: Send + Sync {
    /// The keys this transform accepts; used to validate configs and to document the plugin.
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }

    /// Reads the transform's config. A bad or missing key is a [`ConfigError`] naming it: the connector
    /// does not start.
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError>;

    /// Transforms one record. `Ok(None)` drops the record (it is filtered out and its offset still
    /// counts as processed). A [`ConnectError::Data`] means this record cannot be transformed; the
    /// runtime routes it by the error policy. A retriable error is retried within
    /// `errors.retry.timeout`. Must not panic on any record.
    fn apply(&self, record: R) -> Result<Option<R>, ConnectError>;

    /// Releases resources. Called once; no `apply` follows.
    fn close(&mut self) {}
}

/// A condition on a record, to apply a transform only to some records (`transforms.X.predicate`).
///
/// Same lifecycle as [`Transformation`]; configured from the keys under `predicates.ALIAS.`.
pub trait Predicate<R: Record>: Send + Sync {
    /// The keys this predicate accepts.
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
    /// Reads the predicate's config.
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError>;
    /// True if the record matches.
    fn test(&self, record: &R) -> bool;
    /// Releases resources.
    fn close(&mut self) {}
}

/// One configured step of a chain: a transform, optionally guarded by a predicate.
pub struct TransformStage<R: Record> {
    /// The alias as configured in `transforms`.
    pub alias: String,
    /// The transform.
    pub transform: Box<dyn Transformation<R>>,
    /// The guard: `(predicate alias, predicate, negate)`.
    pub predicate: Option<(String, std::sync::Arc<dyn Predicate<R>>, bool)>,
}

impl<R: Record> TransformStage<R> {
    fn should_apply(&self, record: &R) -> bool {
        match &self.predicate {
            None => true,
            Some((_, p, negate)) => p.test(record) != *negate,
        }
    }
}

/// Why a record failed in a chain: which stage, and the error.
#[derive(Debug)]
pub struct StageError {
    /// The alias of the failing transform.
    pub alias: String,
    /// The error.
    pub error: ConnectError,
}

/// The transforms of a connector, in order.
///
/// Dropping a chain closes it ([`TransformChain::close`]): every transform's and every predicate's
/// `close` runs once, as Kafka Connect closes them when a task stops.
pub struct TransformChain<R: Record> {
    stages: Vec<TransformStage<R>>,
    closed: bool,
}

impl<R: Record> Default for TransformChain<R> {
    fn default() -> Self {
        TransformChain {
            stages: Vec::new(),
            closed: false,
        }
    }
}

impl<R: Record> Drop for TransformChain<R> {
    fn drop(&mut self) {
        self.close();
    }
}

impl<R: Record> TransformChain<R> {
    /// A chain of stages.
    pub fn new(stages: Vec<TransformStage<R>>) -> Self {
        TransformChain {
            stages,
            closed: false,
        }
    }

    /// Number of stages.
    pub fn len(&self) -> usize {
        self.stages.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// The stages, in order.
    pub fn stages(&self) -> &[TransformStage<R>] {
        &self.stages
    }

    /// Applies every stage whose predicate matches. `Ok(None)` when a stage filtered the record out.
    pub fn apply(&self, mut record: R) -> Result<Option<R>, StageError> {
        for stage in &self.stages {
            if !stage.should_apply(&record) {
                continue;
            }
            match stage.transform.apply(record) {
                Ok(Some(r)) => record = r,
                Ok(None) => return Ok(None),
                Err(error) => {
                    return Err(StageError {
                        alias: stage.alias.clone(),
                        error,
                    })
                }
            }
        }
        Ok(Some(record))
    }

    /// Applies one stage (the runtime retries stages one by one).
    pub fn apply_stage(&self, index: usize, record: R) -> Result<Option<R>, ConnectError> {
        let stage = &self.stages[index];
        if stage.should_apply(&record) {
            stage.transform.apply(record)
        } else {
            Ok(Some(record))
        }
    }

    /// Closes every transform, then every predicate (a predicate shared by several stages once).
    /// Idempotent; no `apply` may follow. Called by `Drop`.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        let mut predicates = Vec::new();
        for s in &mut self.stages {
            s.transform.close();
            if let Some((_, p, _)) = s.predicate.take() {
                predicates.push(p);
            }
        }
        // The last holder of each shared predicate closes it.
        while let Some(mut p) = predicates.pop() {
            if let Some(p) = std::sync::Arc::get_mut(&mut p) {
                p.close();
            }
        }
    }
}
