//! Legacy text profiles: the `?debug=1` and `?debug=2` pages of
//! `net/http/pprof`.
//!
//! - `heap profile: …` (`/debug/pprof/heap?debug=1`, [`heap`]): read as
//!   `go tool pprof` reads it (`parseHeap` in pprof's `legacy_profile.go`):
//!   the same sample types, period, scaling (bit for bit, see [`goexp`]),
//!   addresses and `bytes` label. The `# runtime.MemStats` trailer, which
//!   pprof skips, fills [`Profile::memstats`].
//! - `goroutine profile: total N` (`/debug/pprof/goroutine?debug=1`, and
//!   any `NAME profile: total N`, [`count`]): as pprof's `parseGoCount`,
//!   plus the `# labels: {…}` lines, which pprof skips.
//! - `goroutine 1 [running]:` (`/debug/pprof/goroutine?debug=2`, [`dump`]):
//!   pprof cannot read these; one sample per distinct (stack, state,
//!   creator), labelled `state` and `created_by`.
//!
//! In the first two, each stack line is followed by `#\t0xPC\tFUNC+0xOFF\t
//! FILE:LINE` lines, written by the runtime from its own symbol table.
//! pprof ignores them and needs the binary to name functions; here they
//! give the locations their lines, so no binary is needed. The runtime
//! does not print the leading runtime frames of a stack (`runtime.mallocgc`
//! and the like) nor `runtime.goexit`; their locations keep their address
//! and no line, exactly as pprof shows every location of such a file.
//!
//! Lines end with `\n` or `\r\n`; a leading UTF-8 byte order mark and
//! leading blank lines are skipped. Malformed input is an
//! [`ErrorKind::LegacyText`] naming the line.

mod count;
mod dump;
mod goexp;
mod heap;

use rustc_hash::FxHashMap;

use super::error::{DecodeError, ErrorKind};
use crate::profile::{Function, Label, Line, Location, Profile, StrId, ValueType, NONE};

/// Decodes a legacy text profile; the format is decided by its first line.
pub fn parse(data: &[u8]) -> Result<Profile, DecodeError> {
    let text = String::from_utf8_lossy(data);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines = Lines::new(text);
    // Skip leading blank lines (pprof skips them only before count
    // profiles; accepting them before a heap profile is harmless).
    let first = loop {
        match lines.peek() {
            None => return Err(DecodeError::whole(ErrorKind::Empty)),
            Some((_, l)) if l.trim().is_empty() => {
                lines.next();
            }
            Some(first) => break first,
        }
    };
    if heap::is_header(first.1) {
        return heap::parse(lines);
    }
    if dump::is_header(first.1) {
        return dump::parse(lines);
    }
    // pprof also skips comment lines before a count profile's header.
    let mut probe = lines.clone();
    while let Some((_, l)) = probe.peek() {
        if !is_space_or_comment(l) {
            break;
        }
        probe.next();
    }
    if let Some((_, l)) = probe.peek() {
        if count::is_header(l) {
            return count::parse(probe);
        }
    }
    let (no, l) = first;
    if l.starts_with("--- ") || l.starts_with("heap_v2/") {
        return Err(err(
            no,
            format!(
                "{}: this legacy text format (contention, mutex, block or thread profiles) is not supported; fetch the profile with ?debug=0",
                snippet(l)
            ),
        ));
    }
    Err(err(
        no,
        format!(
            "expected `heap profile: …`, `goroutine profile: total N` or `goroutine N [STATE]:`, found {}",
            snippet(l)
        ),
    ))
}

/// A [`ErrorKind::LegacyText`] error at line `no`.
fn err(no: u64, msg: String) -> DecodeError {
    DecodeError::whole(ErrorKind::LegacyText { line: no, msg })
}

/// The start of a line for an error message: quoted, escaped (so the
/// message stays on one line), at most 60 characters.
fn snippet(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{:?}…", &s[..i]),
        None => format!("{s:?}"),
    }
}

/// pprof's `isSpaceOrComment`.
fn is_space_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Lines as Go's `bufio.ScanLines` splits them: at `\n`, with one
/// trailing `\r` dropped, numbered from 1.
#[derive(Clone)]
struct Lines<'a> {
    rest: &'a str,
    no: u64,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines { rest: text, no: 0 }
    }

    fn peek(&self) -> Option<(u64, &'a str)> {
        self.clone().next()
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (u64, &'a str);

    fn next(&mut self) -> Option<(u64, &'a str)> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, rest) = match self.rest.find('\n') {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, ""),
        };
        self.rest = rest;
        self.no += 1;
        Some((self.no, line.strip_suffix('\r').unwrap_or(line)))
    }
}

/// One `#\t0xPC\tFUNC+0xOFF\tFILE:LINE` line: a frame as the runtime's
/// `runtime.CallersFrames` gave it. `func` is empty when the runtime could
/// not name the PC (`#\t0xPC`).
#[derive(Debug, Clone, Copy)]
struct Frame<'a> {
    pc: u64,
    func: &'a str,
    file: &'a str,
    line: i64,
}

/// Parses a `#` frame line; `None` for other comments (`# labels: …`,
/// `# runtime.MemStats`, …).
fn parse_frame(line: &str) -> Option<Frame<'_>> {
    let rest = line.trim().strip_prefix('#')?;
    let mut fields = rest.split('\t').map(str::trim).filter(|f| !f.is_empty());
    let first = fields.next()?;
    let (pc, func_off, file_line) = if first.contains(' ') {
        // Tabs turned into spaces: PC, then the name (which may contain
        // spaces, as generic shapes do), then FILE:LINE.
        let mut words = first.split_whitespace();
        let pc = words.next()?;
        let words: Vec<&str> = words.collect();
        match words.split_last() {
            Some((last, name)) if !name.is_empty() => {
                let start = name[0].as_ptr() as usize - first.as_ptr() as usize;
                let end = last.as_ptr() as usize - first.as_ptr() as usize;
                (pc, first[start..end].trim_end(), *last)
            }
            _ => (pc, "", ""),
        }
    } else {
        (first, fields.next().unwrap_or(""), fields.next().unwrap_or(""))
    };
    let hex = pc.strip_prefix("0x")?;
    let pc = u64::from_str_radix(hex, 16).ok()?;
    // "FUNC+0xOFF": the offset is from the function's entry.
    let func = match func_off.rfind("+0x") {
        Some(i) if func_off[i + 3..].bytes().all(|b| b.is_ascii_hexdigit()) => &func_off[..i],
        _ => func_off,
    };
    let (file, line) = split_file_line(file_line);
    Some(Frame { pc, func, file, line })
}

/// `FILE:LINE` into its parts; a name without a line number is all file.
fn split_file_line(s: &str) -> (&str, i64) {
    if let Some((file, line)) = s.rsplit_once(':') {
        if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = line.parse() {
                return (file, n);
            }
        }
    }
    (s, 0)
}

/// Parses Go's rendering of a label set, `{"k":"v", "k2":"v2"}` (pprof's
/// `labelMap.String`; tracebacks print `"k": "v"`). `None` if malformed.
fn parse_label_set(s: &str) -> Option<Vec<(String, String)>> {
    let mut rest = s.trim().strip_prefix('{')?.trim_start();
    let mut out = Vec::new();
    if let Some(r) = rest.strip_prefix('}') {
        return r.trim().is_empty().then_some(out);
    }
    loop {
        let (k, r) = go_unquote(rest)?;
        let r = r.trim_start().strip_prefix(':')?.trim_start();
        let (v, r) = go_unquote(r)?;
        out.push((k, v));
        let r = r.trim_start();
        if let Some(r) = r.strip_prefix(',') {
            rest = r.trim_start();
        } else {
            let r = r.strip_prefix('}')?;
            return r.trim().is_empty().then_some(out);
        }
    }
}

/// Reads one Go double-quoted string literal (as `%q` writes it) from the
/// start of `s`; returns it and what follows.
fn go_unquote(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let mut out: Vec<u8> = Vec::new();
    let bytes = body.as_bytes();
    let mut i = 0;
    let hex = |b: &[u8]| -> Option<u32> { u32::from_str_radix(std::str::from_utf8(b).ok()?, 16).ok() };
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                return Some((String::from_utf8_lossy(&out).into_owned(), &body[i + 1..]));
            }
            b'\\' => {
                let c = *bytes.get(i + 1)?;
                i += 2;
                let simple = match c {
                    b'a' => Some(7u8),
                    b'b' => Some(8),
                    b'f' => Some(12),
                    b'n' => Some(b'\n'),
                    b'r' => Some(b'\r'),
                    b't' => Some(b'\t'),
                    b'v' => Some(11),
                    b'\\' | b'"' | b'\'' => Some(c),
                    _ => None,
                };
                if let Some(b) = simple {
                    out.push(b);
                    continue;
                }
                match c {
                    b'x' => {
                        out.push(hex(bytes.get(i..i + 2)?)? as u8);
                        i += 2;
                    }
                    b'u' | b'U' => {
                        let n = if c == b'u' { 4 } else { 8 };
                        let ch = char::from_u32(hex(bytes.get(i..i + n)?)?)?;
                        i += n;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    b'0'..=b'7' => {
                        let oct = std::str::from_utf8(bytes.get(i - 1..i + 2)?).ok()?;
                        out.push(u8::from_str_radix(oct, 8).ok()?);
                        i += 2;
                    }
                    _ => return None,
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

/// Builds a [`Profile`]: interns strings and functions, keeps one
/// location per address (or per source line, for goroutine dumps).
struct Builder {
    p: Profile,
    strings: FxHashMap<String, StrId>,
    funcs: FxHashMap<(StrId, StrId), u32>,
    /// Lines of each location, flattened into `p.lines` by `finish`.
    loc_lines: Vec<Vec<Line>>,
    by_addr: FxHashMap<u64, u32>,
    by_line: FxHashMap<(u32, i64), u32>,
}

impl Builder {
    fn new() -> Self {
        let mut b = Builder {
            p: Profile::default(),
            strings: FxHashMap::default(),
            funcs: FxHashMap::default(),
            loc_lines: Vec::new(),
            by_addr: FxHashMap::default(),
            by_line: FxHashMap::default(),
        };
        b.str("");
        b.p.stack_offsets.push(0);
        b.p.label_offsets.push(0);
        b
    }

    fn str(&mut self, s: &str) -> StrId {
        if let Some(&id) = self.strings.get(s) {
            return id;
        }
        let id = self.p.strings.len() as StrId;
        self.p.strings.push(s);
        self.strings.insert(s.to_string(), id);
        id
    }

    fn value_type(&mut self, ty: &str, unit: &str) -> ValueType {
        ValueType { ty: self.str(ty), unit: self.str(unit) }
    }

    fn function(&mut self, name: &str, file: &str) -> Result<u32, DecodeError> {
        let key = (self.str(name), self.str(file));
        if let Some(&f) = self.funcs.get(&key) {
            return Ok(f);
        }
        let idx = index(self.p.functions.len(), "functions")?;
        self.p.functions.push(Function {
            id: u64::from(idx) + 1,
            name: key.0,
            system_name: key.0,
            filename: key.1,
            start_line: 0,
        });
        self.funcs.insert(key, idx);
        Ok(idx)
    }

    fn new_location(&mut self, address: u64) -> Result<u32, DecodeError> {
        let idx = index(self.p.locations.len(), "locations")?;
        self.p.locations.push(Location { id: u64::from(idx) + 1, mapping: NONE, address, ..Location::default() });
        self.loc_lines.push(Vec::new());
        Ok(idx)
    }

    /// The location of `address` (already adjusted to the call), created
    /// without lines on first use.
    fn location_at(&mut self, address: u64) -> Result<u32, DecodeError> {
        if let Some(&l) = self.by_addr.get(&address) {
            return Ok(l);
        }
        let l = self.new_location(address)?;
        self.by_addr.insert(address, l);
        Ok(l)
    }

    /// The address-less location of one source line (goroutine dumps).
    fn location_of_line(&mut self, name: &str, file: &str, line: i64) -> Result<u32, DecodeError> {
        let f = self.function(name, file)?;
        if let Some(&l) = self.by_line.get(&(f, line)) {
            return Ok(l);
        }
        let l = self.new_location(0)?;
        self.loc_lines[l as usize].push(Line { function: f, line, column: 0 });
        self.by_line.insert((f, line), l);
        Ok(l)
    }

    /// Gives location `loc` the named frames of `frames` (innermost first)
    /// as its lines, unless it already has at least as many.
    fn offer_lines(&mut self, loc: u32, frames: &[Frame<'_>]) -> Result<(), DecodeError> {
        let named = frames.iter().filter(|f| !f.func.is_empty()).count();
        if named <= self.loc_lines[loc as usize].len() {
            return Ok(());
        }
        let mut lines = Vec::with_capacity(named);
        for f in frames.iter().filter(|f| !f.func.is_empty()) {
            lines.push(Line { function: self.function(f.func, f.file)?, line: f.line, column: 0 });
        }
        self.loc_lines[loc as usize] = lines;
        Ok(())
    }

    /// Attaches the `#` frames printed under one stack to the locations of
    /// that stack. `addrs` are the stack's addresses as printed (return
    /// addresses), `locs` their locations.
    ///
    /// The runtime prints one frame per PC, or several with the same PC
    /// when calls were inlined into it (Go < 1.23 and the leaf of newer
    /// versions), leaf first, and skips the leading runtime frames and
    /// `runtime.goexit`. Each run of frames sharing a PC is matched to the
    /// next stack slot whose address is that PC + 1 (the runtime backs up
    /// to the call instruction, as pprof does) or, as Go < 1.7 printed
    /// it, the PC itself. A run of n frames matching r equal slots in a
    /// row (recursion) gives each slot n / r of them.
    fn symbolize(&mut self, addrs: &[u64], locs: &[u32], frames: &[Frame<'_>]) -> Result<(), DecodeError> {
        let (mut i, mut k) = (0, 0);
        while k < frames.len() {
            let pc = frames[k].pc;
            let n = frames[k..].iter().take_while(|f| f.pc == pc).count();
            let Some(j) = (i..addrs.len()).find(|&j| addrs[j].wrapping_sub(1) == pc || addrs[j] == pc) else {
                // Not in this stack: nothing to attach it to.
                k += n;
                continue;
            };
            let r = addrs[j..].iter().take_while(|&&a| a == addrs[j]).count().min(n);
            // The last slot's frames are complete even if the runtime hid
            // the innermost frames of the first.
            let per = n.div_ceil(r);
            self.offer_lines(locs[j], &frames[k + n - per..k + n])?;
            i = j + r;
            k += n;
        }
        Ok(())
    }

    fn push_sample(&mut self, stack: &[u32], values: &[i64], labels: &[Label]) -> Result<(), DecodeError> {
        self.p.stacks.extend_from_slice(stack);
        self.p.values.extend_from_slice(values);
        self.p.labels.extend_from_slice(labels);
        let s = index(self.p.stacks.len(), "stack frames")?;
        let l = index(self.p.labels.len(), "labels")?;
        self.p.stack_offsets.push(s);
        self.p.label_offsets.push(l);
        Ok(())
    }

    /// A string label.
    fn label(&mut self, key: &str, value: &str) -> Label {
        Label { key: self.str(key), str: self.str(value), num: 0, num_unit: 0 }
    }

    fn finish(mut self) -> Result<Profile, DecodeError> {
        let total: usize = self.loc_lines.iter().map(Vec::len).sum();
        index(total, "lines")?;
        self.p.lines.reserve(total);
        for (loc, lines) in self.p.locations.iter_mut().zip(&self.loc_lines) {
            loc.lines_start = self.p.lines.len() as u32;
            loc.lines_len = lines.len() as u32;
            self.p.lines.extend_from_slice(lines);
        }
        Ok(self.p)
    }
}

/// `n` as a `u32` model index.
fn index(n: usize, what: &'static str) -> Result<u32, DecodeError> {
    u32::try_from(n).map_err(|_| DecodeError::whole(ErrorKind::TooLarge(what)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_drop_cr() {
        let v: Vec<_> = Lines::new("a\r\nb\n\r\nc").collect();
        assert_eq!(v, [(1, "a"), (2, "b"), (3, ""), (4, "c")]);
    }

    #[test]
    fn frames() {
        let f = parse_frame("#\t0x4e7d3a\tmain.waitOnLock+0x1a\t\t\tC:/x y/main.go:169").unwrap();
        assert_eq!((f.pc, f.func, f.file, f.line), (0x4e7d3a, "main.waitOnLock", "C:/x y/main.go", 169));
        let f = parse_frame("#\t0x10\tmain.grow[go.shape.struct { X int32 }]+0x1f\tmain.go:3").unwrap();
        assert_eq!(f.func, "main.grow[go.shape.struct { X int32 }]");
        let f = parse_frame("# 0x10 main.grow[go.shape.struct { X int32 }]+0x1f main.go:3").unwrap();
        assert_eq!((f.func, f.file, f.line), ("main.grow[go.shape.struct { X int32 }]", "main.go", 3));
        let f = parse_frame("#\t0x10").unwrap();
        assert_eq!((f.pc, f.func), (0x10, ""));
        assert!(parse_frame("# labels: {\"a\":\"b\"}").is_none());
        assert!(parse_frame("# runtime.MemStats").is_none());
    }

    /// (function, line) of each line of the location at `addr`.
    fn lines_at(p: &Profile, addr: u64) -> Vec<(&str, i64)> {
        let loc = p.locations.iter().find(|l| l.address == addr).expect("location");
        loc.lines().map(|i| (p.str(p.functions[p.lines[i].function as usize].name), p.lines[i].line)).collect()
    }

    #[test]
    fn inlined_and_recursive_frames() {
        // Go < 1.23: inlined calls share their PC; g recurses (two equal
        // slots), and the runtime hid the leading runtime frame 0x51.
        let text = "heap profile: 1: 16 [1: 16] @ heap_v2/1\n\
            1: 16 [1: 16] @ 0x51 0x101 0x202 0x202 0x303\n\
            #\t0x100\tmain.inl+0x1\ta.go:1\n\
            #\t0x100\tmain.f+0x9\ta.go:9\n\
            #\t0x201\tmain.ginl+0x1\tb.go:2\n\
            #\t0x201\tmain.g+0x1\tb.go:20\n\
            #\t0x201\tmain.ginl+0x1\tb.go:2\n\
            #\t0x201\tmain.g+0x1\tb.go:20\n\
            #\t0x302\tmain.main+0x1\tc.go:3\n";
        let p = parse(text.as_bytes()).unwrap();
        assert_eq!(lines_at(&p, 0x50), []);
        assert_eq!(lines_at(&p, 0x100), [("main.inl", 1), ("main.f", 9)]);
        assert_eq!(lines_at(&p, 0x201), [("main.ginl", 2), ("main.g", 20)]);
        assert_eq!(lines_at(&p, 0x302), [("main.main", 3)]);
        assert_eq!(p.stack(0).len(), 5);
        // Go < 1.7 printed the stack's own addresses.
        let text = "goroutine profile: total 2\n2 @ 0x101 0x202\n#\t0x101\tmain.f+0x1\ta.go:1\n#\t0x202\tmain.main+0x2\tb.go:2\n";
        let p = parse(text.as_bytes()).unwrap();
        assert_eq!(lines_at(&p, 0x100), [("main.f", 1)]);
        assert_eq!(lines_at(&p, 0x201), [("main.main", 2)]);
        assert_eq!(p.sample_values(0), [2]);
    }

    #[test]
    fn label_sets() {
        let got = parse_label_set(r#"{"a":"b", "k\"q":"\u00e9\x41\101\n"}"#).unwrap();
        assert_eq!(got, [("a".into(), "b".into()), ("k\"q".into(), "éAA\n".into())]);
        assert_eq!(parse_label_set(r#"{"pool": "orders"}"#).unwrap(), [("pool".into(), "orders".into())]);
        assert_eq!(parse_label_set("{}").unwrap(), []);
        assert!(parse_label_set(r#"{"a":"b""#).is_none());
        assert!(parse_label_set(r#"{"a" "b"}"#).is_none());
    }
}
