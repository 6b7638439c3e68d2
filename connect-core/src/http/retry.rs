//! Which answers are worth another try, and how long to wait before it.

use std::time::Duration;

/// Bounded exponential backoff with full jitter, as Kafka Connect's connectors retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries after the first; 0 = never retry.
    pub max_retries: u32,
    /// The first wait; each retry doubles it.
    pub backoff: Duration,
    /// No wait is longer.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry `attempt` (1 = the first retry): a random time up to
    /// `backoff * 2^(attempt-1)`, at most `max_backoff`, and never under a quarter of the ceiling so
    /// that a busy server is not hit again at once.
    pub fn delay(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(20);
        let ceiling = self
            .backoff
            .checked_mul(1u32 << shift)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff);
        let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        if ms == 0 {
            return Duration::ZERO;
        }
        let low = ms / 4;
        Duration::from_millis(rand::random_range(low..=ms))
    }

    /// Whether another try is allowed after `attempts` retries.
    pub fn allows(&self, attempts: u32) -> bool {
        attempts < self.max_retries
    }

    /// True for answers that say "later": 408, 429, 502, 503, 504.
    pub fn retriable_status(status: u16) -> bool {
        matches!(status, 408 | 429 | 502 | 503 | 504)
    }
}

/// A `Retry-After` header's wait, in seconds or as an HTTP date, bounded by `cap` (a server cannot
/// park the task for a day).
pub fn retry_after(headers: &reqwest::header::HeaderMap, cap: Duration) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = parse_http_date(v)?;
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO)
    };
    Some(wait.min(cap))
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form RFC 9110 requires senders to use
/// (`Retry-After`, `Date`).
pub fn parse_http_date(s: &str) -> Option<std::time::SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, mon, year, hms, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u64 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let mon = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == mon)? as u64
        + 1;
    let year: u64 = year.parse().ok().filter(|y| (1970..=9999).contains(y))?;
    let mut t = hms.split(':').map(|x| x.parse::<u64>().ok());
    let (h, m, sec) = (t.next()??, t.next()??, t.next()??);
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, mo) = if mon <= 2 {
        (year - 1, mon + 9)
    } else {
        (year, mon - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    let secs = days * 86_400 + h * 3600 + m * 60 + sec;
    std::time::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    #[test]
    fn delays_grow_within_bounds() {
        let p = RetryPolicy {
            max_retries: 10,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        };
        for attempt in 1..=40 {
            let ceiling = (100u64 << (attempt - 1).min(20)).min(2000);
            let d = p.delay(attempt).as_millis() as u64;
            assert!(
                d <= ceiling && d >= ceiling / 4,
                "attempt {attempt}: {d} ms"
            );
        }
        assert!(p.allows(9) && !p.allows(10));
    }

    #[test]
    fn retry_after_in_seconds_or_a_date_is_capped() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(
            retry_after(&h, Duration::from_secs(60)),
            Some(Duration::from_secs(7))
        );
        h.insert(RETRY_AFTER, HeaderValue::from_static("99999999999"));
        assert_eq!(
            retry_after(&h, Duration::from_secs(60)),
            Some(Duration::from_secs(60))
        );
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(
            retry_after(&h, Duration::from_secs(60)),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            std::time::UNIX_EPOCH.checked_add(Duration::from_secs(784_111_777))
        );
        for bad in [
            "soon",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "-5",
        ] {
            h.insert(RETRY_AFTER, HeaderValue::from_str(bad).unwrap());
            assert_eq!(retry_after(&h, Duration::from_secs(60)), None, "{bad}");
        }
    }
}
