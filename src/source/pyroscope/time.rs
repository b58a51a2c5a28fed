//! Times and windows: `--from 6h`, `--to 2026-12-07T00:00:00Z`, `--step 15m`.
//!
//! Pyroscope speaks milliseconds since the epoch. A window is the half-open
//! interval `(end - step, end]`, which is how Pyroscope's `SelectSeries`
//! buckets profiles into the point stamped `end`; the merged profile of the
//! same window is asked for as the closed range `[end - step + 1, end]`
//! (both ends of `SelectMergeProfile`'s range are inclusive).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Parses a duration: `90s`, `15m`, `6h`, `1h30m`, `7d`, `500ms`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    // Days first (capture's parser stops at hours), then the rest.
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if digits > 0 && t[digits..].starts_with('d') {
        let days: u64 = t[..digits].parse().map_err(|_| format!("invalid duration {s:?}: too large"))?;
        let rest = &t[digits + 1..];
        let more = if rest.is_empty() { Duration::ZERO } else { crate::source::capture::files::parse_duration(rest)? };
        return days
            .checked_mul(86_400)
            .map(Duration::from_secs)
            .and_then(|d| d.checked_add(more))
            .ok_or_else(|| format!("invalid duration {s:?}: too large"));
    }
    crate::source::capture::files::parse_duration(t)
        .map_err(|e| e.replace("(e.g. 500ms, 30s, 5m, 2h, 1h30m)", "(e.g. 30s, 15m, 6h, 1h30m, 7d)"))
}

/// Parses a point in time: an age (`6h`: six hours before `now_ms`), an
/// RFC 3339 time (`2026-12-07T06:00:00Z`, `…+01:00`, fractional seconds
/// allowed), `now`, or Unix seconds (`1796602782`).
pub fn parse_time(s: &str, now_ms: i64) -> Result<i64, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("now") {
        return Ok(now_ms);
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = t.parse().map_err(|_| format!("{s:?}: Unix time out of range"))?;
        return secs.checked_mul(1000).ok_or_else(|| format!("{s:?}: Unix time out of range"));
    }
    if t.len() >= 10 && t.as_bytes()[4] == b'-' {
        return parse_rfc3339(t).ok_or_else(|| {
            format!("{s:?} is not a time: give an age (6h, 30m, 7d), an RFC 3339 time (2026-12-07T06:00:00Z) or Unix seconds")
        });
    }
    let d = parse_duration(t).map_err(|e| {
        format!("{e}; a time is an age (6h, 30m, 7d), an RFC 3339 time (2026-12-07T06:00:00Z) or Unix seconds")
    })?;
    let ms = i64::try_from(d.as_millis()).map_err(|_| format!("{s:?}: too far back"))?;
    Ok(now_ms.saturating_sub(ms))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD[T ]HH:MM[:SS[.fff…]](Z|±HH:MM)`, or a bare date (midnight UTC).
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        (!part.is_empty() && part.bytes().all(|c| c.is_ascii_digit())).then(|| part.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b.get(7) != Some(&b'-') || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let day_ms = days_from_civil(y, mo, d) * 86_400_000;
    if b.len() == 10 {
        return Some(day_ms);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return None;
    }
    let (h, mi) = (num(11..13)?, num(14..16)?);
    let mut i = 16;
    let mut sec_ms = 0;
    if b.get(i) == Some(&b':') {
        sec_ms = num(17..19)? * 1000;
        i = 19;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut j = start;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j == start {
                return None;
            }
            let frac = &s[start..j.min(start + 3)];
            sec_ms += frac.parse::<i64>().ok()? * 10i64.pow(3 - frac.len() as u32);
            i = j;
        }
    }
    if h > 23 || mi > 59 || sec_ms >= 61_000 {
        return None;
    }
    let offset_ms = match s.get(i..)? {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) && tz.as_bytes()[3] == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let o = (oh * 60 + om) * 60_000;
            if tz.starts_with('-') {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    Some(day_ms + (h * 3600 + mi * 60) * 1000 + sec_ms - offset_ms)
}

/// Consecutive windows of equal length ending at `last_end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// End (inclusive, ms) of the first window.
    pub first_end: i64,
    /// Window length, ms.
    pub step: i64,
    /// Number of windows.
    pub count: usize,
}

/// One window: `(start, end]` in ms, asked for as `[start + 1, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Its position, 0 = oldest.
    pub index: usize,
    /// Exclusive start, ms.
    pub start: i64,
    /// Inclusive end, ms.
    pub end: i64,
}

/// 9999-12-31T23:59:59.999Z: times past it are refused (and times in ns
/// then always fit an i64).
pub const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// The most windows one run asks for: each is a merged-profile request.
pub const MAX_WINDOWS: usize = 10_000;

impl Windows {
    /// The windows of length `step` that fit between `from` and `to`,
    /// the last ending at `to`: `floor((to - from) / step)` of them.
    pub fn new(from: i64, to: i64, step: Duration) -> Result<Windows, String> {
        let step_ms = i64::try_from(step.as_millis()).map_err(|_| "--step is too large".to_string())?;
        if step_ms < 1000 {
            return Err("--step must be at least 1s (Pyroscope buckets series by the second)".into());
        }
        if step.as_millis() % 1000 != 0 {
            return Err("--step must be a whole number of seconds".into());
        }
        if from < 0 || to > MAX_TIME_MS {
            return Err("the time range must lie between 1970 and 9999".into());
        }
        if to <= from {
            return Err(format!(
                "the time range is empty: --from {} is not before --to {}",
                crate::units::utc(from.saturating_mul(1_000_000)),
                crate::units::utc(to.saturating_mul(1_000_000))
            ));
        }
        let count = ((to - from) / step_ms) as usize;
        if count == 0 {
            return Err(format!(
                "--step {} is longer than the time range ({}): no window fits",
                fmt_ms(step_ms),
                fmt_ms(to - from)
            ));
        }
        if count > MAX_WINDOWS {
            return Err(format!("{count} windows of --step {} is too many (at most {MAX_WINDOWS})", fmt_ms(step_ms)));
        }
        Ok(Windows { first_end: to - (count as i64 - 1) * step_ms, step: step_ms, count })
    }

    /// Window `i`.
    pub fn get(&self, i: usize) -> Window {
        let end = self.first_end + i as i64 * self.step;
        Window { index: i, start: end - self.step, end }
    }

    /// All windows, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = Window> + '_ {
        (0..self.count).map(|i| self.get(i))
    }

    /// The window a `SelectSeries` point stamped `ts` stands for, if any.
    pub fn index_of_point(&self, ts: i64) -> Option<usize> {
        let d = ts.checked_sub(self.first_end)?;
        if d < 0 || d % self.step != 0 {
            return None;
        }
        usize::try_from(d / self.step).ok().filter(|&i| i < self.count)
    }

    /// The range to give `SelectSeries` so that its points are stamped
    /// with these windows' ends: it starts one step before the first end
    /// (a point stamped there covers only that instant and is ignored).
    pub fn series_range(&self) -> (i64, i64) {
        (self.first_end - self.step, self.get(self.count - 1).end)
    }

    /// Start (exclusive) of the first window and end of the last.
    pub fn span(&self) -> (i64, i64) {
        (self.first_end - self.step, self.get(self.count - 1).end)
    }
}

/// Milliseconds since the epoch as RFC 3339 UTC: `2026-12-07T00:10:00Z`.
pub fn rfc3339(ms: i64) -> String {
    crate::units::utc(ms.saturating_mul(1_000_000)).replace(' ', "T").replace("TUTC", "Z")
}

/// A duration in ms as `15m`, `1h30m`, `2d`, `90s`.
pub fn fmt_ms(ms: i64) -> String {
    if ms <= 0 {
        return "0s".into();
    }
    if ms % 1000 != 0 {
        return format!("{ms}ms");
    }
    let mut s = ms / 1000;
    let mut out = String::new();
    for (unit, n) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if s >= n {
            out.push_str(&format!("{}{unit}", s / n));
            s %= n;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert_eq!(parse_duration("1d12h").unwrap(), Duration::from_secs(36 * 3600));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-5m").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
        assert_eq!(fmt_ms(5_400_000), "1h30m");
        assert_eq!(fmt_ms(86_400_000 + 1000), "1d1s");
        assert_eq!(rfc3339(1_796_603_499_000), "2026-12-07T00:31:39Z");
        assert_eq!(parse_time(&rfc3339(1_796_603_499_000), 0).unwrap(), 1_796_603_499_000);
    }

    #[test]
    fn times() {
        let now = 1_796_602_782_000;
        assert_eq!(parse_time("6h", now).unwrap(), now - 6 * 3_600_000);
        assert_eq!(parse_time("now", now).unwrap(), now);
        assert_eq!(parse_time("1796602782", now).unwrap(), 1_796_602_782_000);
        assert_eq!(parse_time("1970-01-01T00:00:00Z", now).unwrap(), 0);
        assert_eq!(parse_time("2026-12-07T00:31:39Z", now).unwrap(), 1_796_603_499_000);
        assert_eq!(parse_time("2026-12-07T01:31:39.5+01:00", now).unwrap(), 1_796_603_499_500);
        assert_eq!(parse_time("2026-12-07", now).unwrap(), 1_796_601_600_000);
        assert_eq!(parse_time("2000-02-29T12:00Z", now).unwrap(), 951_825_600_000);
        for bad in ["2026-13-01T00:00:00Z", "2026-12-07T25:00:00Z", "2026-12-07T00:00:00", "2026-12-07T00:00:00.Z", "x"]
        {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows() {
        let w = Windows::new(0, 3_600_000, Duration::from_secs(900)).unwrap();
        assert_eq!(w.count, 4);
        assert_eq!(w.get(0), Window { index: 0, start: 0, end: 900_000 });
        assert_eq!(w.get(3).end, 3_600_000);
        assert_eq!(w.index_of_point(900_000), Some(0));
        assert_eq!(w.index_of_point(3_600_000), Some(3));
        assert_eq!(w.index_of_point(0), None);
        assert_eq!(w.index_of_point(900_001), None);
        assert_eq!(w.index_of_point(4_500_000), None);
        assert_eq!(w.series_range(), (0, 3_600_000));
        // A range that is not a multiple of the step: windows end at `to`.
        let w = Windows::new(0, 1_000_000, Duration::from_secs(300)).unwrap();
        assert_eq!((w.count, w.first_end), (3, 400_000));
        assert!(Windows::new(0, 1000, Duration::from_secs(300)).is_err());
        assert!(Windows::new(10, 10, Duration::from_secs(1)).is_err());
        assert!(Windows::new(0, 10_000, Duration::from_millis(1500)).is_err());
        assert!(Windows::new(0, i64::MAX, Duration::from_secs(1)).is_err());
        assert!(Windows::new(-7_200_000, 0, Duration::from_secs(60)).is_err());
        assert!(Windows::new(MAX_TIME_MS - 3_600_000, MAX_TIME_MS + 1, Duration::from_secs(60)).is_err());
        assert!(Windows::new(MAX_TIME_MS - 3_600_000, MAX_TIME_MS, Duration::from_secs(60)).is_ok());
    }
}
