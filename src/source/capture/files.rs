//! Snapshot file names, durations, and writing files without ever
//! overwriting one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::units;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `/debug/pprof/heap?gc=1`, gzip protobuf.
    Heap,
    /// `/debug/pprof/goroutine`, gzip protobuf.
    Goroutine,
    /// A `/metrics` scrape, gzipped text.
    Metrics,
}

impl Kind {
    /// `heap`, `goroutine` or `metrics`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Heap => "heap",
            Kind::Goroutine => "goroutine",
            Kind::Metrics => "metrics",
        }
    }

    /// The end of the file name: `heap.pb.gz`, `goroutine.pb.gz`, `metrics.txt.gz`.
    pub fn file_suffix(self) -> &'static str {
        match self {
            Kind::Heap => "heap.pb.gz",
            Kind::Goroutine => "goroutine.pb.gz",
            Kind::Metrics => "metrics.txt.gz",
        }
    }
}

/// The time part of a snapshot's name: UTC with millisecond precision,
/// `20261128T061530.123Z`. Names built from it sort in time order.
pub fn stem(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    // "2026-11-28 06:15:30 UTC" -> "20261128T061530"
    let digits: String = units::utc(secs * 1_000_000_000).chars().filter(char::is_ascii_digit).collect();
    format!("{}T{}.{:03}Z", &digits[..digits.len() - 6], &digits[digits.len() - 6..], since.subsec_millis())
}

/// The file name for `kind` at `stem`. `n` > 0 disambiguates two files
/// with the same millisecond: `STEM.1-heap.pb.gz` sorts after
/// `STEM-heap.pb.gz` (`.` > `-`) and still ends in `-heap.pb.gz`.
pub fn file_name(stem: &str, n: u32, kind: Kind) -> String {
    if n == 0 {
        format!("{stem}-{}", kind.file_suffix())
    } else {
        format!("{stem}.{n}-{}", kind.file_suffix())
    }
}

/// The temporary name a file is written under before it gets its real
/// name: hidden, and marked with the process id.
pub fn temp_name(name: &str, pid: u32) -> String {
    format!(".{name}.tmp-{pid}")
}

/// Writes `data` to a new file in `dir` named `file_name(stem, n, kind)`
/// with the smallest `n` whose name is free, and returns its path.
///
/// The bytes go to a hidden temporary file first, are flushed to disk, and
/// only then appear under the final name, so a reader never sees a partial
/// snapshot. The final name is created with a hard link, which fails
/// instead of replacing an existing file (a plain `rename` would replace
/// one created meanwhile by another process); where the file system has no
/// hard links, an existence check and `rename` are used instead.
pub fn write_new(dir: &Path, stem: &str, kind: Kind, data: &[u8]) -> io::Result<PathBuf> {
    let tmp = dir.join(temp_name(&file_name(stem, 0, kind), std::process::id()));
    let res = write_tmp(&tmp, data).and_then(|()| publish(dir, stem, kind, &tmp));
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

fn write_tmp(tmp: &Path, data: &[u8]) -> io::Result<()> {
    let mut f = File::create(tmp)?;
    f.write_all(data)?;
    f.sync_all()
}

pub(crate) fn publish(dir: &Path, stem: &str, kind: Kind, tmp: &Path) -> io::Result<PathBuf> {
    for n in 0..10_000 {
        let dest = dir.join(file_name(stem, n, kind));
        match fs::hard_link(tmp, &dest) {
            Ok(()) => {
                fs::remove_file(tmp)?;
                return Ok(dest);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(_) => {
                // No hard links here (some network and FAT file systems).
                if fs::symlink_metadata(&dest).is_ok() {
                    continue;
                }
                fs::rename(tmp, &dest)?;
                return Ok(dest);
            }
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{}: too many files with this name", stem)))
}

/// Removes this process's temporary files from `dir` (after an abrupt
/// stop). Errors are ignored.
pub fn remove_temp_files(dir: &Path, pid: u32) {
    let tail = format!(".tmp-{pid}");
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        if n.starts_with('.') && n.ends_with(&tail) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Parses a duration as Go writes them: a sequence of decimal numbers,
/// each with a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), e.g. `500ms`,
/// `30s`, `1.5m`, `1h30m`. `0` alone is zero.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = |why: &str| format!("invalid duration {s:?}: {why} (e.g. 500ms, 30s, 5m, 2h, 1h30m)");
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    if t.is_empty() {
        return Err(bad("empty"));
    }
    if t.starts_with('-') {
        return Err(bad("negative"));
    }
    let mut rest = t.strip_prefix('+').unwrap_or(t);
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(bad("expected a number"));
        }
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(bad("missing unit")),
            _ => return Err(bad(&format!("unknown unit {unit:?}"))),
        };
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        let int: u128 = if int.is_empty() { 0 } else { int.parse().map_err(|_| bad("number too large"))? };
        let mut v = int.checked_mul(scale).ok_or_else(|| bad("too large"))?;
        // Fractional digits, exact to the nanosecond.
        let mut place = scale;
        for d in frac.bytes() {
            place /= 10;
            v += u128::from(d - b'0') * place;
        }
        total = total.checked_add(v).ok_or_else(|| bad("too large"))?;
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| bad("too large"))?;
    Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
}

/// A duration for a person: `500ms`, `30s`, `1m30s`, `2h`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if ms % 1000 != 0 && ms < 60_000 {
        return format!("{:.1}s", d.as_secs_f64());
    }
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Duration {
        parse_duration(s).unwrap()
    }

    #[test]
    fn durations() {
        assert_eq!(d("500ms"), Duration::from_millis(500));
        assert_eq!(d("30s"), Duration::from_secs(30));
        assert_eq!(d("5m"), Duration::from_secs(300));
        assert_eq!(d("2h"), Duration::from_secs(7200));
        assert_eq!(d("1h30m"), Duration::from_secs(5400));
        assert_eq!(d("1m30.5s"), Duration::from_millis(90_500));
        assert_eq!(d("1.5h"), Duration::from_secs(5400));
        assert_eq!(d(".5s"), Duration::from_millis(500));
        assert_eq!(d("250us"), Duration::from_micros(250));
        assert_eq!(d("1µs"), Duration::from_micros(1));
        assert_eq!(d("7ns"), Duration::from_nanos(7));
        assert_eq!(d("0"), Duration::ZERO);
        assert_eq!(d(" 30s "), Duration::from_secs(30));
        for bad in ["", "30", "s", "-5s", "5d", "1..5s", "1h30", "abc", "99999999999999999999999h"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains("invalid duration"), "{bad:?}: {e}");
        }
        assert!(parse_duration("30").unwrap_err().contains("missing unit"));
        assert!(parse_duration("5d").unwrap_err().contains("unknown unit \"d\""));
    }

    #[test]
    fn durations_print() {
        assert_eq!(format_duration(Duration::from_millis(200)), "200ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::ZERO), "0ms");
    }

    #[test]
    fn names() {
        // 2026-11-28 06:15:30.123 UTC
        let t = UNIX_EPOCH + Duration::from_millis(1_795_846_530_123);
        assert_eq!(stem(t), "20261128T061530.123Z");
        assert_eq!(file_name(&stem(t), 0, Kind::Heap), "20261128T061530.123Z-heap.pb.gz");
        assert_eq!(file_name(&stem(t), 0, Kind::Goroutine), "20261128T061530.123Z-goroutine.pb.gz");
        assert_eq!(file_name(&stem(t), 0, Kind::Metrics), "20261128T061530.123Z-metrics.txt.gz");
        assert_eq!(file_name(&stem(t), 2, Kind::Heap), "20261128T061530.123Z.2-heap.pb.gz");
        assert_eq!(stem(UNIX_EPOCH), "19700101T000000.000Z");
        assert_eq!(stem(UNIX_EPOCH + Duration::from_nanos(999_999)), "19700101T000000.000Z");
        // Millisecond precision, and name order is time order, including a
        // collision's suffix after the plain name of the same millisecond.
        let mut names = vec![
            file_name(&stem(t + Duration::from_millis(1)), 0, Kind::Heap),
            file_name(&stem(t), 1, Kind::Heap),
            file_name(&stem(t + Duration::from_secs(86_400 * 40)), 0, Kind::Heap),
            file_name(&stem(t), 0, Kind::Heap),
            file_name(&stem(t - Duration::from_secs(3600 * 7)), 0, Kind::Heap),
        ];
        names.sort();
        assert_eq!(
            names,
            [
                "20261127T231530.123Z-heap.pb.gz",
                "20261128T061530.123Z-heap.pb.gz",
                "20261128T061530.123Z.1-heap.pb.gz",
                "20261128T061530.124Z-heap.pb.gz",
                "20270107T061530.123Z-heap.pb.gz",
            ]
        );
        assert_eq!(temp_name("x-heap.pb.gz", 42), ".x-heap.pb.gz.tmp-42");
    }

    #[test]
    fn write_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_new(dir.path(), "S", Kind::Heap, b"first").unwrap();
        let b = write_new(dir.path(), "S", Kind::Heap, b"second").unwrap();
        let c = write_new(dir.path(), "S", Kind::Heap, b"third").unwrap();
        assert_eq!(a.file_name().unwrap(), "S-heap.pb.gz");
        assert_eq!(b.file_name().unwrap(), "S.1-heap.pb.gz");
        assert_eq!(c.file_name().unwrap(), "S.2-heap.pb.gz");
        assert_eq!(fs::read(&a).unwrap(), b"first");
        assert_eq!(fs::read(&b).unwrap(), b"second");
        assert_eq!(fs::read(&c).unwrap(), b"third");
        let mut left: Vec<String> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
        left.sort();
        assert_eq!(left, ["S-heap.pb.gz", "S.1-heap.pb.gz", "S.2-heap.pb.gz"]);
    }

    #[test]
    fn temp_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".a-heap.pb.gz.tmp-7"), b"x").unwrap();
        fs::write(dir.path().join(".a-heap.pb.gz.tmp-8"), b"x").unwrap();
        fs::write(dir.path().join("a-heap.pb.gz"), b"x").unwrap();
        remove_temp_files(dir.path(), 7);
        assert!(!dir.path().join(".a-heap.pb.gz.tmp-7").exists());
        assert!(dir.path().join(".a-heap.pb.gz.tmp-8").exists());
        assert!(dir.path().join("a-heap.pb.gz").exists());
    }
}
