//! Retries with exponential backoff and jitter, bounded by `errors.retry.timeout`, as Kafka Connect's
//! `RetryWithToleranceOperator`.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use rand::Rng;

use tokio::sync::watch;

use crate::config::ErrorPolicy;
use crate::error::ConnectError;
use crate::record::Record;
use crate::runtime::status::{TaskMetrics, TaskShared};
use crate::runtime::Control;
use crate::transform::TransformChain;

/// Why a chain failed a record: the failing stage's alias, the error, and the record as it was before
/// the chain (when it was kept: for a DLQ, or because retrying kept it anyway).
pub(crate) type ChainFailure<R> = (String, ConnectError, Option<R>);

/// The first backoff, as Kafka Connect's `RETRIES_DELAY_MIN_MS`.
pub const RETRY_DELAY_MIN: Duration = Duration::from_millis(300);

/// The delay before retry number `attempt` (1-based): `300 ms * 2^(attempt-1)`, capped at `max`, with
/// jitter drawn from the upper half of that value so that many tasks do not retry in step.
pub fn backoff(attempt: u32, max: Duration) -> Duration {
    let exp = RETRY_DELAY_MIN
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(max);
    let half = exp / 2;
    let jitter_ms = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
    half + Duration::from_millis(jitter_ms)
}

/// What ended a retried operation.
#[derive(Debug)]
pub struct RetryOutcome<T> {
    /// The final result.
    pub result: Result<T, ConnectError>,
    /// How many times the operation ran.
    pub attempts: u32,
}

/// Runs `op` until it succeeds, fails with a non-retriable error, or `timeout` has passed since the first
/// attempt (`None` = forever; `Some(0)` = one attempt). `stopped` is polled between attempts so that a
/// stopping task does not wait out its backoff.
pub async fn retry<T, F, Fut>(
    timeout: Option<Duration>,
    max_delay: Duration,
    mut stopped: impl FnMut() -> bool,
    mut op: F,
) -> RetryOutcome<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ConnectError>>,
{
    let start = Instant::now();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let err = match op().await {
            Ok(v) => {
                return RetryOutcome {
                    result: Ok(v),
                    attempts,
                }
            }
            Err(e) if !e.is_retriable() => {
                return RetryOutcome {
                    result: Err(e),
                    attempts,
                }
            }
            Err(e) => e,
        };
        let elapsed = start.elapsed();
        let remaining = match timeout {
            None => Duration::MAX,
            Some(t) if elapsed >= t => {
                return RetryOutcome {
                    result: Err(err),
                    attempts,
                }
            }
            Some(t) => t - elapsed,
        };
        if stopped() {
            return RetryOutcome {
                result: Err(err),
                attempts,
            };
        }
        tokio::time::sleep(backoff(attempts, max_delay).min(remaining)).await;
    }
}

/// Applies a connector's chain (sources before conversion, sinks after); when `errors.retry.timeout` is
/// set, retriable failures are retried with backoff on a copy of the record (made only then, so the
/// default configuration never copies records).
pub(crate) async fn apply_chain<R: Record + Clone>(
    chain: &TransformChain<R>,
    policy: &ErrorPolicy,
    control: &watch::Receiver<Control>,
    shared: &TaskShared,
    record: R,
    keep_original: bool,
) -> Result<Option<R>, ChainFailure<R>> {
    if chain.is_empty() {
        return Ok(Some(record));
    }
    if policy.retry_timeout == Some(Duration::ZERO) {
        // The chain consumes the record; a copy is kept only when a DLQ will want it.
        let original = keep_original.then(|| record.clone());
        return chain
            .apply(record)
            .map_err(|e| (e.alias, e.error, original));
    }
    let failed_alias = std::sync::Mutex::new(String::new());
    let out = retry(
        policy.retry_timeout,
        policy.retry_delay_max,
        || *control.borrow() == Control::Stop,
        || {
            let rec = record.clone();
            let fa = &failed_alias;
            async move {
                chain.apply(rec).map_err(|e| {
                    if let Ok(mut a) = fa.lock() {
                        *a = e.alias;
                    }
                    e.error
                })
            }
        },
    )
    .await;
    TaskMetrics::add(
        &shared.metrics.retries,
        out.attempts.saturating_sub(1) as u64,
    );
    let alias = failed_alias.into_inner().unwrap_or_default();
    // Retrying cloned the record for each attempt, so the original is still here.
    out.result.map_err(|e| (alias, e, Some(record)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn backoff_grows_and_caps() {
        for _ in 0..100 {
            let b1 = backoff(1, Duration::from_secs(60));
            assert!(b1 >= Duration::from_millis(150) && b1 <= Duration::from_millis(300));
            let b10 = backoff(10, Duration::from_secs(2));
            assert!(b10 >= Duration::from_secs(1) && b10 <= Duration::from_secs(2));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn stops_after_timeout() {
        let calls = AtomicU32::new(0);
        let out = retry(
            Some(Duration::from_secs(5)),
            Duration::from_secs(1),
            || false,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(ConnectError::retriable("down"))
            },
        )
        .await;
        assert!(out.result.is_err());
        // 0.15-0.3s, 0.3-0.6s, then 0.5-1s steps: 5 s allow between 6 and 14 attempts.
        assert!((6..=14).contains(&out.attempts), "{}", out.attempts);
    }

    #[tokio::test(start_paused = true)]
    async fn non_retriable_and_zero_timeout_run_once() {
        let out = retry(
            Some(Duration::ZERO),
            Duration::from_secs(1),
            || false,
            || async { Err::<(), _>(ConnectError::retriable("x")) },
        )
        .await;
        assert_eq!(out.attempts, 1);
        let out = retry(
            None,
            Duration::from_secs(1),
            || false,
            || async { Err::<(), _>(ConnectError::other("fatal")) },
        )
        .await;
        assert_eq!(out.attempts, 1);
    }
}
