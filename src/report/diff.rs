//! The leak report of a two-snapshot diff: the model (serde), built by
//! [`crate::diff::report::build`] and rendered as text, Markdown and JSON
//! by [`crate::report::render::diff`].
//!
//! Layout follows Eclipse MAT's Leak Suspects: the verdict first, then the
//! evidence (categories, known signatures, growing sites with their
//! stacks, growth paths), then what shrank.

use serde::Serialize;

use crate::profile::Granularity;

/// JSON schema name and version of [`DiffReport`].
pub const SCHEMA: &str = "leakscope.diff/v1";

/// Minor version of [`SCHEMA`]: fields added without breaking readers of
/// earlier minors. 1 added `restarted` and `warnings`; 2 added
/// `signatures[].growing` and `signatures[].ruled_out_by`; 3 added
/// `sites[].function` (sites grouped by allocating function).
pub const SCHEMA_MINOR: u32 = 3;

/// Thresholds of the verdict (see README, "Verdict").
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Thresholds {
    /// Growth below this (in the sample type's unit) is never a leak.
    /// For bytes: the larger of `--min-growth` and 4 sampling periods.
    pub min_growth: i64,
    /// Growth must also be at least this fraction of BASE's total.
    pub min_growth_ratio: f64,
}

/// One input.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotInfo {
    /// Path as given.
    pub file: String,
    /// Profile time, ns since the epoch (0 if unknown).
    pub time_nanos: i64,
    /// Total of the sample type (signed sum).
    pub total: i64,
}

/// The verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Growth that looks like a leak.
    pub leak: bool,
    /// The category that grew most, when `leak`.
    pub category: Option<String>,
    /// `high`, `medium` or `low`.
    pub confidence: &'static str,
    /// One sentence.
    pub headline: String,
    /// The checks behind it, with their numbers.
    pub reasons: Vec<String>,
}

/// One category's change.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryRow {
    /// Category name.
    pub name: String,
    /// Value in BASE.
    pub base: i64,
    /// Value in NEW.
    pub new: i64,
    /// NEW − BASE.
    pub delta: i64,
    /// Share of all positive category growth, 0..1.
    pub share_of_growth: f64,
    /// Named as leaking: the verdict is a leak and this category grew by
    /// at least the absolute threshold and 10% of the growth.
    pub suspect: bool,
}

/// A known-leak signature found in the stacks.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureHit {
    /// Signature id.
    pub id: String,
    /// What it is.
    pub title: String,
    /// Category its memory is counted in.
    pub category: String,
    /// Affected versions.
    pub affected: String,
    /// Fixing version.
    pub fixed_in: String,
    /// What to do.
    pub advice: String,
    /// Issues.
    pub references: Vec<String>,
    /// Value in BASE.
    pub base: i64,
    /// Value in NEW.
    pub new: i64,
    /// NEW − BASE.
    pub delta: i64,
    /// Its own growth passes the verdict's noise floor
    /// (`thresholds.min_growth`) and it is not ruled out: only then is it
    /// advised on. Otherwise it is "present, not growing".
    pub growing: bool,
    /// The frame whose presence proves the program is outside the affected
    /// versions, when one was found.
    pub ruled_out_by: Option<String>,
}

impl SignatureHit {
    /// Why it is not advised on, for the renderers: `None` when it grows.
    pub fn caveat(&self) -> Option<String> {
        match (&self.ruled_out_by, self.growing) {
            (Some(f), _) => Some(format!("ruled out: {f} exists only outside the affected versions")),
            (None, false) => Some("present, not growing".to_string()),
            (None, true) => None,
        }
    }

    /// How a verdict's headline names it: `; matches TITLE (fixed in V)`.
    pub fn headline_clause(&self) -> String {
        format!("; matches {} (fixed in {})", self.title, self.fixed_in)
    }

    /// The next step it advises, when it grows.
    pub fn next_step(&self) -> String {
        format!("{}: {} (affected: {}; fixed in {})", self.id, self.advice, self.affected, self.fixed_in)
    }
}

/// A growing (or shrinking) site: memory grouped by category and the
/// function that allocated it.
#[derive(Debug, Clone, Serialize)]
pub struct Site {
    /// Category name.
    pub category: String,
    /// The allocating function: the first frame from the leaf that is not
    /// allocator or library plumbing, whether or not a rule knows it (at
    /// `files` granularity, its file). Sites are grouped by (category,
    /// function).
    pub function: String,
    /// The frame that decided the category (for unattributed sites, the
    /// first frame above the allocator plumbing), of the site's stack that
    /// changed most in the site's direction.
    pub frame: String,
    /// Why that frame decided: `rule <regex>`, `signature <id>`, or `no
    /// rule matched`.
    pub rule: String,
    /// Value in BASE.
    pub base: i64,
    /// Value in NEW.
    pub new: i64,
    /// NEW − BASE.
    pub delta: i64,
    /// Change of the matching object count (inuse_objects for
    /// inuse_space), when the profile has it.
    pub objects_delta: Option<i64>,
    /// The stack of this site that changed most, leaf first, plumbing
    /// removed and trimmed a few frames above the attributing frame.
    pub stack: Vec<String>,
    /// Frames left out of `stack` on the root side.
    pub stack_elided: usize,
}

impl Site {
    /// Why the site is in its category, for the renderers: the rule (its
    /// [`short_rule`] form), and the deciding frame when it is not the
    /// allocating function.
    pub fn why(&self) -> String {
        let rule = short_rule(&self.rule);
        if self.frame == self.function {
            rule
        } else {
            format!("{} via {} ({rule})", self.category, self.frame)
        }
    }

    /// The stack with a mark on the frame where the site allocated and the
    /// frame where its category was decided: the first frame of each name
    /// (the allocating function is the first frame that is not plumbing,
    /// and the deciding frame the first of its kind), so that a recursive
    /// stack is marked once.
    pub fn marked_stack(&self) -> impl Iterator<Item = (&str, Option<&'static str>)> + '_ {
        let (mut alloc, mut decide) = (false, false);
        self.stack.iter().map(move |f| {
            let a = !alloc && *f == self.function;
            let d = !decide && *f == self.frame;
            alloc |= a;
            decide |= d;
            let m = match (a, d) {
                (true, true) => Some("allocated and attributed here"),
                (true, false) => Some("allocated here"),
                (false, true) => Some("attributed here"),
                (false, false) => None,
            };
            (f.as_str(), m)
        })
    }
}

/// The short form of a site's `why` (`rule <regex>`): the pattern's
/// literal start, unescaped (`rule github.com/gorilla/mux.…`), with `…`
/// where the pattern goes on. Renderers show it where a whole regex would
/// drown the row (the full text stays in JSON, and in HTML's hover).
/// Signatures and "no rule matched" are short already.
pub fn short_rule(why: &str) -> String {
    let Some(pattern) = why.strip_prefix("rule ") else {
        return why.to_string();
    };
    let mut lit = String::new();
    let mut chars = pattern.strip_prefix('^').unwrap_or(pattern).chars().peekable();
    let mut whole = true;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() => lit.push(e),
                _ => {
                    whole = false;
                    break;
                }
            },
            '$' if chars.peek().is_none() => break,
            '*' | '?' | '{' => {
                // The character before is optional: it is not literal.
                lit.pop();
                whole = false;
                break;
            }
            '(' | ')' | '[' | ']' | '|' | '+' | '.' | '^' | '$' => {
                whole = false;
                break;
            }
            _ => lit.push(c),
        }
    }
    if lit.chars().count() < 3 {
        // Too little literal text to say anything: the pattern, shortened.
        let head: String = pattern.chars().take(40).collect();
        let more = if pattern.chars().count() > 40 { "…" } else { "" };
        return format!("rule {head}{more}");
    }
    format!("rule {lit}{}", if whole { "" } else { "…" })
}

/// A function row, as `top` but with deltas.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionRow {
    /// Name as stored (functions granularity) or pprof's printable name.
    pub name: String,
    /// Flat NEW − BASE.
    pub flat_delta: i64,
    /// Cum NEW − BASE.
    pub cum_delta: i64,
    /// Flat in NEW.
    pub flat_new: i64,
    /// Cum in NEW.
    pub cum_new: i64,
}

/// A heavy growth path through the retention graph.
#[derive(Debug, Clone, Serialize)]
pub struct PathRow {
    /// Growth entering the path at the root.
    pub delta: i64,
    /// Frames from the root toward the leaf, with the growth carried.
    pub frames: Vec<PathFrame>,
}

/// One frame of a growth path.
#[derive(Debug, Clone, Serialize)]
pub struct PathFrame {
    /// Function.
    pub name: String,
    /// Growth flowing into it along the path.
    pub delta: i64,
}

/// Who is likely responsible for growth no rule attributed.
#[derive(Debug, Clone, Serialize)]
pub struct Hint {
    /// The deepest non-plumbing frame carrying at least half of it.
    pub frame: String,
    /// Growth through that frame.
    pub delta: i64,
    /// Of all unattributed growth, 0..1.
    pub share: f64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// Always [`SCHEMA_MINOR`].
    pub schema_minor: u32,
    /// The earlier snapshot.
    pub base: SnapshotInfo,
    /// The later snapshot.
    pub new: SnapshotInfo,
    /// The snapshots come from different processes (a restart, an
    /// upgrade): the diff cannot judge a leak, and the verdict says so.
    pub restarted: bool,
    /// Caveats about the inputs, one sentence each (e.g. the two profiles
    /// come from different programs).
    pub warnings: Vec<String>,
    /// Reported sample type.
    pub sample_type: SampleType,
    /// Function-table granularity.
    pub granularity: Granularity,
    /// Whether NEW was scaled to BASE's total (`--normalize`).
    pub normalized: bool,
    /// Seconds between the snapshots, when both carry a time.
    pub interval_seconds: Option<f64>,
    /// NEW − BASE total.
    pub total_delta: i64,
    /// Growth per hour, when the interval is known.
    pub delta_per_hour: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
    /// What to do next.
    pub next_steps: Vec<String>,
    /// Thresholds used.
    pub thresholds: Thresholds,
    /// Categories with any memory, by delta descending.
    pub categories: Vec<CategoryRow>,
    /// Known-leak signatures present in either snapshot.
    pub signatures: Vec<SignatureHit>,
    /// Sites that grew most.
    pub sites: Vec<Site>,
    /// Sites that shrank most.
    pub shrank: Vec<Site>,
    /// Heaviest growth paths from the root.
    pub growth_paths: Vec<PathRow>,
    /// Hint for unattributed growth.
    pub unattributed_hint: Option<Hint>,
    /// Function table rows with a change, by |flat delta|.
    pub functions: Vec<FunctionRow>,
    /// Function rows before `--nodecount`.
    pub functions_total: usize,
    /// NEW's heap profile beside its runtime MemStats, when it has them.
    pub reconciliation: Option<super::reconcile::Reconciliation>,
}

/// A sample type.
#[derive(Debug, Clone, Serialize)]
pub struct SampleType {
    /// e.g. `inuse_space`.
    pub name: String,
    /// e.g. `bytes`.
    pub unit: String,
}

/// A diff ready to render: the model, and what HTML and DOT draw besides.
#[derive(Debug, Clone)]
pub struct DiffDocument {
    /// The report model (all that JSON, text and Markdown show).
    pub report: DiffReport,
    /// Folded stacks of the judged type, for the differential flame graph
    /// (HTML); empty unless asked for.
    pub flame: Vec<super::flame::Folded>,
    /// The growth retention graph (DOT), when asked for.
    pub graph: Option<super::dot::Graph>,
}
