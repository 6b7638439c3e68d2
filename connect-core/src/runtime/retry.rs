//! Retries with exponential backoff and jitter, bounded by `errors.retry.timeout`, as Kafka Connect's
//! `RetryWithToleranceOperator`.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use rand::Rng;

use crate::error::ConnectError;

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
