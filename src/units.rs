//! Human-readable numbers: sizes in IEC units, counts, durations, times.

/// Formats `v` in `unit` for a person: bytes as KiB/MiB/GiB, nanoseconds
/// as a duration, anything else as a plain integer with its unit.
pub fn human(v: i64, unit: &str) -> String {
    match unit {
        "bytes" => bytes(v),
        "nanoseconds" => duration_ns(v),
        "count" | "" => count(v),
        other => format!("{} {other}", count(v)),
    }
}

/// Bytes with binary prefixes: `512 B`, `1.50 KiB`, `12.3 MiB`.
pub fn bytes(v: i64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let neg = v < 0;
    let mut x = v.unsigned_abs() as f64;
    let mut u = 0;
    while x >= 1024.0 && u < UNITS.len() - 1 {
        x /= 1024.0;
        u += 1;
    }
    let sign = if neg { "-" } else { "" };
    if u == 0 {
        format!("{sign}{} B", v.unsigned_abs())
    } else if x >= 100.0 {
        format!("{sign}{x:.0} {}", UNITS[u])
    } else if x >= 10.0 {
        format!("{sign}{x:.1} {}", UNITS[u])
    } else {
        format!("{sign}{x:.2} {}", UNITS[u])
    }
}

/// A count with thousands separators: `1,234,567`.
pub fn count(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if v < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration in nanoseconds: `850ms`, `27.0s`, `3m12s`, `2h05m`.
pub fn duration_ns(ns: i64) -> String {
    let neg = ns < 0;
    let ns = ns.unsigned_abs();
    let s = if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{:.1}µs", ns as f64 / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.0}ms", ns as f64 / 1e6)
    } else if ns < 60_000_000_000 {
        format!("{:.1}s", ns as f64 / 1e9)
    } else if ns < 3_600_000_000_000 {
        let secs = ns / 1_000_000_000;
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        let mins = ns / 60_000_000_000;
        format!("{}h{:02}m", mins / 60, mins % 60)
    };
    if neg {
        format!("-{s}")
    } else {
        s
    }
}

/// A percentage of `total`, pprof style: `35.17%`; `0%` of a zero total.
pub fn percent(v: i64, total: i64) -> String {
    if total == 0 {
        return "0%".to_string();
    }
    format!("{:.2}%", v as f64 * 100.0 / total as f64)
}

/// Nanoseconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses `50MiB`, `512KiB`, `1.5GiB`, `10MB`, `4096`: IEC suffixes (KiB,
/// MiB, GiB, TiB, and K/M/G/T or Ki/Mi/Gi/Ti) are powers of 1024; SI ones
/// (kB, KB, MB, GB, TB) are powers of 1000; a bare number is in the sample
/// type's unit.
pub fn parse_size(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("{s:?} is not a size (e.g. 50MiB, 512KiB, 1GB, 4096)"))?;
    let mult: f64 = match unit.trim() {
        "" | "B" | "b" => 1.0,
        "K" | "Ki" | "KiB" | "k" => 1024.0,
        "M" | "Mi" | "MiB" => 1024.0 * 1024.0,
        "G" | "Gi" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        "T" | "Ti" | "TiB" => 1024f64.powi(4),
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        other => return Err(format!("unknown size unit {other:?} in {s:?} (use B, KiB, MiB, GiB, kB, MB, GB)")),
    };
    let v = n * mult;
    if !v.is_finite() || v < 0.0 || v > i64::MAX as f64 {
        return Err(format!("size {s:?} is out of range"));
    }
    Ok(v.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_sizes() {
        assert_eq!(parse_size("50MiB"), Ok(50 << 20));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("2M"), Ok(2 << 20));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5XB").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.50 KiB");
        assert_eq!(bytes(-1536), "-1.50 KiB");
        assert_eq!(bytes(33_554_432), "32.0 MiB");
        assert_eq!(bytes(500 * 1024 * 1024), "500 MiB");
    }

    #[test]
    fn counts_and_times() {
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(-1000), "-1,000");
        assert_eq!(count(999), "999");
        assert_eq!(utc(1_644_509_272_337_470_000), "2022-02-10 16:07:52 UTC");
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(duration_ns(27_000_000_000), "27.0s");
        assert_eq!(duration_ns(192_000_000_000), "3m12s");
        assert_eq!(percent(1, 3), "33.33%");
    }
}
