//! The attribution rules engine: which category a stack's memory belongs
//! to, and which frame and rule decided it.
//!
//! Longer than 700 lines: a third is tests; the rest is one rule pack (its
//! file format, loading, and the decision walk), which share private types.
//!
//! Rules are regular expressions over function names, in a documented TOML
//! (or JSON) format; the built-in pack (`builtin.toml`) covers the Go
//! runtime and standard library, common libraries, and Traefik v2/v3. A
//! user file (`--rules FILE`) adds or overrides categories, signatures and
//! plumbing. Matching is done once per distinct function name (a
//! `RegexSet` pass), never per sample; a stack walk then only reads the
//! cached class of each frame.

use std::path::Path;

use regex::bytes::{RegexSet, RegexSetBuilder};
use serde::{Deserialize, Serialize};

use crate::limits::{self, Exceeded, Limits};
use crate::report::diff::SignatureHit;

/// The built-in rule pack, as shipped.
pub const BUILTIN: &str = include_str!("builtin.toml");

/// Expansion of `{T}`: the Traefik v2/v3 package prefix.
pub const TRAEFIK_PREFIX: &str = r"^github\.com/traefik/traefik/v[23]/pkg/";

/// Name of the bucket for stacks no rule matched.
pub use crate::report::UNATTRIBUTED;

/// A category and the frames that identify it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    /// Category name, e.g. `http-request`.
    pub name: String,
    /// One line for reports and `leakscope rules`.
    #[serde(default)]
    pub description: String,
    /// Strong patterns: the first frame (from the leaf) matching one decides.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Weak patterns: used only if no strong match is found nearer the root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback: Vec<String>,
    /// In a user file: `replace` drops the built-in patterns of this
    /// category; `extend` (the default) puts the user's patterns first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// A known leak: a whole-stack pattern, checked before categories.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SignatureRule {
    /// Stable identifier.
    pub id: String,
    /// What the leak is.
    pub title: String,
    /// Category its memory is counted in.
    pub category: String,
    /// Affected versions.
    #[serde(default)]
    pub affected: String,
    /// Version with the fix.
    #[serde(default)]
    pub fixed_in: String,
    /// What to do.
    #[serde(default)]
    pub advice: String,
    /// Issues and pull requests.
    #[serde(default)]
    pub references: Vec<String>,
    /// Every regex must match at least one frame of the stack.
    pub all: Vec<String>,
    /// Version evidence: a frame anywhere in the profile matching one of
    /// these proves the program is outside the affected versions (e.g. a
    /// symbol that exists only in later releases), and the signature is
    /// ruled out.
    #[serde(default)]
    pub ruled_out_by: Vec<String>,
}

impl SignatureRule {
    /// The first of `frames` that matches one of [`Self::ruled_out_by`]:
    /// the evidence that the program is outside the affected versions.
    /// Patterns that do not compile rule nothing out (the rules loader has
    /// already reported them).
    pub fn ruled_out<'a>(&self, frames: impl IntoIterator<Item = &'a str>) -> Option<String> {
        if self.ruled_out_by.is_empty() {
            return None;
        }
        let set = regex::RegexSet::new(&self.ruled_out_by).ok()?;
        frames.into_iter().find(|f| set.is_match(f)).map(str::to_string)
    }

    /// This signature as a report shows it, having decided `base` then
    /// `new` (in the sample type's unit), `ruled_out_by` the frame that
    /// rules it out if any; not `growing` until the caller judges it.
    pub fn hit(&self, base: i64, new: i64, ruled_out_by: Option<String>) -> SignatureHit {
        SignatureHit {
            id: self.id.clone(),
            title: self.title.clone(),
            category: self.category.clone(),
            affected: self.affected.clone(),
            fixed_in: self.fixed_in.clone(),
            advice: self.advice.clone(),
            references: self.references.clone(),
            base,
            new,
            delta: new.saturating_sub(base),
            growing: false,
            ruled_out_by,
        }
    }
}

/// A rules file: the built-in pack or a user's additions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    /// Frames never decisive: allocation helpers, containers, codecs.
    #[serde(default)]
    pub plumbing: Vec<String>,
    /// In a user file: replace the built-in plumbing list instead of adding.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replace_plumbing: bool,
    /// Known-leak signatures, checked in order.
    #[serde(default, rename = "signature")]
    pub signatures: Vec<SignatureRule>,
    /// Categories in priority order.
    #[serde(default, rename = "category")]
    pub categories: Vec<CategoryRule>,
}

impl RulesFile {
    /// Parses TOML, or JSON when the text starts with `{`.
    pub fn parse(text: &str) -> Result<RulesFile, String> {
        if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| e.to_string())
        } else {
            toml::from_str(text).map_err(|e| e.to_string())
        }
    }

    /// Reads a rules file.
    pub fn read(path: &Path) -> Result<RulesFile, String> {
        RulesFile::read_with(path, &Limits::default())
    }

    /// Reads a rules file of at most [`Limits::small_file_budget`] bytes.
    pub fn read_with(path: &Path, limits: &Limits) -> Result<RulesFile, String> {
        let err = |e: std::io::Error| format!("{}: {e}", path.display());
        let f = std::fs::File::open(path).map_err(err)?;
        let bytes = limits::read_capped(f, limits.small_file_budget(), Exceeded::SmallFile).map_err(err)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            err(std::io::Error::new(std::io::ErrorKind::InvalidData, "stream did not contain valid UTF-8"))
        })?;
        RulesFile::parse(&text).map_err(|e| format!("{}: {}", path.display(), e.trim_end().replace('\n', " ")))
    }

    /// The built-in pack merged with `user`: user categories and
    /// signatures take precedence over built-in ones of the same name/id.
    pub fn merged(mut self, user: RulesFile) -> RulesFile {
        if user.replace_plumbing {
            self.plumbing = user.plumbing;
        } else {
            self.plumbing.extend(user.plumbing);
        }
        let mut sigs = Vec::new();
        for s in user.signatures {
            self.signatures.retain(|b| b.id != s.id);
            sigs.push(s);
        }
        sigs.append(&mut self.signatures);
        self.signatures = sigs;
        let mut cats = Vec::new();
        for mut c in user.categories {
            if let Some(pos) = self.categories.iter().position(|b| b.name == c.name) {
                let b = self.categories.remove(pos);
                if c.mode.as_deref() != Some("replace") {
                    c.patterns.extend(b.patterns);
                    c.fallback.extend(b.fallback);
                    if c.description.is_empty() {
                        c.description = b.description;
                    }
                }
            }
            c.mode = None;
            cats.push(c);
        }
        cats.append(&mut self.categories);
        self.categories = cats;
        self
    }
}

/// What a frame is, for attribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameClass {
    /// Never decisive.
    Plumbing,
    /// Matches no rule (e.g. application code): passed over.
    Unknown,
    /// Decides the category (category index, global pattern index).
    Strong(u16, u32),
    /// Decides only if nothing stronger comes nearer the root.
    Weak(u16, u32),
}

/// A frame's class plus which signature patterns it matches.
#[derive(Debug, Clone, Copy)]
pub struct FrameInfo {
    /// Its class.
    pub class: FrameClass,
    /// Bit i set: signature pattern i matches this frame.
    pub sig_bits: u128,
}

/// The outcome of attributing one stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribution {
    /// Category index; `None` is unattributed.
    pub category: Option<u16>,
    /// Position in the stack (0 = leaf) of the deciding frame; for
    /// unattributed stacks, the first non-plumbing frame (or the leaf).
    pub frame: usize,
    /// Signature index, when a signature decided.
    pub signature: Option<u16>,
    /// Global pattern index of the deciding rule (category patterns).
    pub rule: Option<u32>,
}

/// What [`RuleSet::decide`] needs of a run of frames, leaf first: the
/// frames' signature bits together, and the first frame of each kind (frame
/// ids chosen by the caller: positions, node ids; [`NO_FRAME`] for none).
/// Spans concatenate ([`Span::then`]), so a trend summarizes each
/// location's frames once and each sample's stack from its locations'
/// spans, instead of walking every frame of every sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The frames' signature bits, or-ed.
    pub sig_bits: u128,
    /// The first frame of class `Strong`.
    pub strong: u32,
    /// The first frame of class `Weak`.
    pub weak: u32,
    /// The first frame that is not `Plumbing` (of any other class; read
    /// only when there is no strong or weak frame).
    pub non_plumbing: u32,
    /// The first frame.
    pub leaf: u32,
}

/// No frame, in a [`Span`].
pub const NO_FRAME: u32 = u32::MAX;

/// What [`RuleSet::decide`] makes of a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The signature of this index matches.
    Signature(u16),
    /// The deciding frame (a span frame id; [`NO_FRAME`] for a stack of no
    /// frames), with its category and rule when it has them.
    Frame {
        /// Category index; `None` is unattributed.
        category: Option<u16>,
        /// Global pattern index of the deciding rule.
        rule: Option<u32>,
        /// The frame.
        frame: u32,
    },
}

impl Span {
    /// The span of no frames.
    pub const EMPTY: Span =
        Span { sig_bits: 0, strong: NO_FRAME, weak: NO_FRAME, non_plumbing: NO_FRAME, leaf: NO_FRAME };

    /// The span of `frames` (node id, class), leaf first.
    pub fn of<'a>(frames: impl Iterator<Item = (u32, &'a FrameInfo)>) -> Span {
        let mut s = Span::EMPTY;
        for (n, f) in frames {
            let one = Span {
                sig_bits: f.sig_bits,
                strong: if matches!(f.class, FrameClass::Strong(..)) { n } else { NO_FRAME },
                weak: if matches!(f.class, FrameClass::Weak(..)) { n } else { NO_FRAME },
                non_plumbing: if f.class == FrameClass::Plumbing { NO_FRAME } else { n },
                leaf: n,
            };
            s = s.then(&one);
        }
        s
    }

    /// This span followed by `next` (which is nearer the root).
    #[inline]
    pub fn then(&self, next: &Span) -> Span {
        let first = |a: u32, b: u32| if a == NO_FRAME { b } else { a };
        Span {
            sig_bits: self.sig_bits | next.sig_bits,
            strong: first(self.strong, next.strong),
            weak: first(self.weak, next.weak),
            non_plumbing: first(self.non_plumbing, next.non_plumbing),
            leaf: first(self.leaf, next.leaf),
        }
    }

    /// The span of a stack of locations, leaf first, from each location's
    /// span (`spans[loc]`). The same as folding [`Span::then`] over them;
    /// a function of its own so that the running span stays in registers
    /// (folded inline in a trend's sample loop, it lived on the stack and
    /// each location waited for the previous one's store).
    #[inline(never)]
    pub fn of_stack(spans: &[Span], stack: &[u32]) -> Span {
        let mut s = Span::EMPTY;
        for &loc in stack {
            s = s.then(&spans[loc as usize]);
        }
        s
    }
}

/// Compiled rules.
#[derive(Debug)]
pub struct RuleSet {
    /// The effective rules, as merged.
    pub file: RulesFile,
    plumbing: RegexSet,
    patterns: RegexSet,
    /// For each global pattern: (category, strong?, text).
    owners: Vec<(u16, bool, String)>,
    sig_patterns: RegexSet,
    /// For each signature: its bit mask over `sig_patterns`.
    sig_masks: Vec<u128>,
}

fn expand(p: &str) -> String {
    p.replace("{T}", TRAEFIK_PREFIX)
}

impl RuleSet {
    /// Compiles `file`.
    pub fn new(file: RulesFile) -> Result<RuleSet, String> {
        // Byte regexes without Unicode classes: Go symbol names are ASCII in
        // practice, and ASCII `\w` compiles and matches several times faster.
        // Patterns that need Unicode can turn it back on with `(?u)`.
        let set = |pats: &[String], what: &str| {
            RegexSetBuilder::new(pats.iter().map(|p| expand(p)))
                .unicode(false)
                .build()
                .map_err(|e| format!("bad {what} regex: {}", e.to_string().replace('\n', " ")))
        };
        let plumbing = set(&file.plumbing, "plumbing")?;
        let mut owners = Vec::new();
        for (ci, c) in file.categories.iter().enumerate() {
            if c.name == UNATTRIBUTED {
                return Err(format!("category name {UNATTRIBUTED:?} is reserved"));
            }
            let ci = u16::try_from(ci).map_err(|_| "too many categories".to_string())?;
            owners.extend(c.patterns.iter().map(|p| (ci, true, p.clone())));
            owners.extend(c.fallback.iter().map(|p| (ci, false, p.clone())));
        }
        let texts: Vec<String> = owners.iter().map(|o| o.2.clone()).collect();
        let patterns = set(&texts, "category")?;
        let mut sig_texts = Vec::new();
        let mut sig_masks = Vec::new();
        for s in &file.signatures {
            if !file.categories.iter().any(|c| c.name == s.category) {
                return Err(format!("signature {} names unknown category {:?}", s.id, s.category));
            }
            if s.all.is_empty() {
                return Err(format!("signature {} has no patterns", s.id));
            }
            for p in &s.ruled_out_by {
                regex::Regex::new(p).map_err(|e| format!("signature {}: ruled_out_by {p:?}: {e}", s.id))?;
            }
            let mut mask = 0u128;
            for p in &s.all {
                if sig_texts.len() >= 128 {
                    return Err("more than 128 signature patterns".into());
                }
                mask |= 1 << sig_texts.len();
                sig_texts.push(p.clone());
            }
            sig_masks.push(mask);
        }
        let sig_patterns = set(&sig_texts, "signature")?;
        Ok(RuleSet { file, plumbing, patterns, owners, sig_patterns, sig_masks })
    }

    /// The built-in rules, optionally merged with a user file.
    pub fn load(user: Option<&Path>) -> Result<RuleSet, String> {
        RuleSet::load_with(user, &crate::limits::current())
    }

    /// [`RuleSet::load`], reading the user file within `limits`.
    pub fn load_with(user: Option<&Path>, limits: &Limits) -> Result<RuleSet, String> {
        let builtin = RulesFile::parse(BUILTIN).map_err(|e| format!("built-in rules: {e}"))?;
        let file = match user {
            Some(p) => builtin.merged(RulesFile::read_with(p, limits)?),
            None => builtin,
        };
        RuleSet::new(file)
    }

    /// Category names, in priority order.
    pub fn category_names(&self) -> impl Iterator<Item = &str> {
        self.file.categories.iter().map(|c| c.name.as_str())
    }

    /// Name of category `i`, or `unattributed` for `None`.
    pub fn category_name(&self, i: Option<u16>) -> &str {
        match i {
            Some(i) => &self.file.categories[i as usize].name,
            None => UNATTRIBUTED,
        }
    }

    /// Text of global pattern `i`.
    pub fn pattern(&self, i: u32) -> &str {
        &self.owners[i as usize].2
    }

    /// Index of a category by name.
    pub fn category_index(&self, name: &str) -> Option<u16> {
        self.file.categories.iter().position(|c| c.name == name).map(|i| i as u16)
    }

    /// Classifies one function name.
    pub fn classify(&self, name: &str) -> FrameInfo {
        let mut sig_bits = 0u128;
        for i in self.sig_patterns.matches(name.as_bytes()).iter() {
            sig_bits |= 1 << i;
        }
        if self.plumbing.is_match(name.as_bytes()) {
            return FrameInfo { class: FrameClass::Plumbing, sig_bits };
        }
        let mut best: Option<(bool, u16, u32)> = None; // (weak?, category, pattern)
        for i in self.patterns.matches(name.as_bytes()).iter() {
            let (cat, strong, _) = &self.owners[i];
            let cand = (!*strong, *cat, i as u32);
            if best.is_none_or(|b| cand < b) {
                best = Some(cand);
            }
        }
        let class = match best {
            None => FrameClass::Unknown,
            Some((false, c, p)) => FrameClass::Strong(c, p),
            Some((true, c, p)) => FrameClass::Weak(c, p),
        };
        FrameInfo { class, sig_bits }
    }

    /// Attributes a stack given the class of each frame, leaf first: the
    /// [`RuleSet::decide`] of the stack's [`Span`], with frame ids its
    /// positions.
    pub fn attribute<'a>(&self, frames: impl Iterator<Item = &'a FrameInfo> + Clone) -> Attribution {
        let span = Span::of(frames.clone().enumerate().map(|(i, f)| (i as u32, f)));
        let class_of = |i: u32| frames.clone().nth(i as usize).map_or(FrameClass::Unknown, |f| f.class);
        match self.decide(&span, class_of) {
            Decision::Signature(si) => {
                let mask = self.sig_masks[si as usize];
                let sig = &self.file.signatures[si as usize];
                let pos = frames.clone().position(|f| f.sig_bits & mask != 0).unwrap_or(0);
                Attribution {
                    category: self.category_index(&sig.category),
                    frame: pos,
                    signature: Some(si),
                    rule: None,
                }
            }
            Decision::Frame { category, rule, frame } => Attribution {
                category,
                frame: if frame == NO_FRAME { 0 } else { frame as usize },
                signature: None,
                rule,
            },
        }
    }

    /// How a stack with this [`Span`] is attributed. A signature decides
    /// first (the first, in file order, whose patterns all match some
    /// frame); then the first strong frame from the leaf; then the first
    /// weak one; else the stack is unattributed at its first non-plumbing
    /// frame, or its leaf ([`NO_FRAME`] for a stack of no frames).
    /// `class_of` gives the class of the span's frame ids.
    ///
    /// A signature's deciding frame is the first with any of its bits,
    /// which a span does not keep: [`RuleSet::attribute`] finds it in the
    /// frames, and a trend, which attributes from per-location spans,
    /// walks the frames again for the few stacks a signature matches.
    pub fn decide(&self, span: &Span, class_of: impl Fn(u32) -> FrameClass) -> Decision {
        if span.sig_bits != 0 {
            // A signature matches when all its bits are set.
            if let Some(si) = self.sig_masks.iter().position(|&m| m & !span.sig_bits == 0) {
                return Decision::Signature(si as u16);
            }
        }
        for n in [span.strong, span.weak] {
            if n != NO_FRAME {
                if let FrameClass::Strong(c, p) | FrameClass::Weak(c, p) = class_of(n) {
                    return Decision::Frame { category: Some(c), rule: Some(p), frame: n };
                }
            }
        }
        let frame = if span.non_plumbing != NO_FRAME { span.non_plumbing } else { span.leaf };
        Decision::Frame { category: None, rule: None, frame }
    }

    /// The effective rules as TOML, for `leakscope rules`.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(&self.file).unwrap_or_else(|e| format!("# cannot print rules: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RuleSet {
        RuleSet::load(None).expect("built-in rules compile")
    }

    fn attribute(r: &RuleSet, stack: &[&str]) -> (String, String, Option<String>) {
        let infos: Vec<FrameInfo> = stack.iter().map(|f| r.classify(f)).collect();
        let a = r.attribute(infos.iter());
        let sig = a.signature.map(|s| r.file.signatures[s as usize].id.clone());
        (r.category_name(a.category).to_string(), stack[a.frame].to_string(), sig)
    }

    #[test]
    fn builtin_pack_has_the_required_categories() {
        let r = rules();
        for c in [
            "http-request",
            "config-reload",
            "metrics",
            "tls",
            "conn-pool",
            "logging",
            "tracing",
            "plugins",
            "k8s-provider",
            "goroutines",
        ] {
            assert!(r.category_index(c).is_some(), "missing category {c}");
        }
    }

    #[test]
    fn own_handler_under_conn_serve_is_http_request() {
        let r = rules();
        let (cat, frame, _) = attribute(
            &r,
            &[
                "runtime.mallocgc",
                "runtime.makeslice",
                "example.com/shop/api.(*Cart).Add",
                "example.com/shop/api.handleCart",
                "net/http.HandlerFunc.ServeHTTP",
                "net/http.(*ServeMux).ServeHTTP",
                "net/http.serverHandler.ServeHTTP",
                "net/http.(*conn).serve",
            ],
        );
        assert_eq!(cat, "http-request");
        assert_eq!(frame, "net/http.HandlerFunc.ServeHTTP");
    }

    #[test]
    fn prometheus_series_is_metrics_even_under_a_request() {
        let r = rules();
        let (cat, frame, _) = attribute(
            &r,
            &[
                "runtime.mallocgc",
                "github.com/prometheus/client_golang/prometheus.newHistogram",
                "github.com/prometheus/client_golang/prometheus.(*HistogramVec).GetMetricWithLabelValues",
                "github.com/traefik/traefik/v2/pkg/metrics.(*histogram).With",
                "github.com/traefik/traefik/v2/pkg/middlewares/metrics.(*metricsMiddleware).ServeHTTP",
                "net/http.(*conn).serve",
            ],
        );
        assert_eq!(cat, "metrics");
        assert_eq!(frame, "github.com/prometheus/client_golang/prometheus.newHistogram");
    }

    #[test]
    fn collector_constructor_during_reload_is_the_reload() {
        let r = rules();
        let (cat, _, _) = attribute(
            &r,
            &[
                "github.com/prometheus/client_golang/prometheus.NewCounterVec",
                "example.com/gw/server.buildChain",
                "example.com/gw/server.(*ConfigWatcher).apply",
            ],
        );
        assert_eq!(cat, "config-reload");
        // with nothing stronger above, the constructor's weak match stands
        let (cat, _, _) = attribute(&r, &["github.com/prometheus/client_golang/prometheus.NewCounterVec", "main.main"]);
        assert_eq!(cat, "metrics");
    }

    #[test]
    fn logrus_writer_signature_wins_over_categories() {
        let r = rules();
        let (cat, frame, sig) = attribute(
            &r,
            &[
                "runtime.malg",
                "io.Pipe",
                "github.com/sirupsen/logrus.(*Entry).WriterLevel",
                "github.com/traefik/traefik/v2/pkg/server/service.buildProxy",
                "github.com/traefik/traefik/v2/pkg/server/service.(*Manager).getLoadBalancerServiceHandler",
            ],
        );
        assert_eq!(sig.as_deref(), Some("traefik-11423-logrus-writer-per-proxy"));
        assert_eq!(cat, "config-reload");
        assert_eq!(frame, "github.com/sirupsen/logrus.(*Entry).WriterLevel");
    }

    #[test]
    fn goroutine_structs_and_unknown_stacks() {
        let r = rules();
        let (cat, _, _) =
            attribute(&r, &["runtime.malg", "runtime.newproc1", "runtime.newproc.func1", "runtime.systemstack"]);
        assert_eq!(cat, "goroutines");
        let (cat, frame, _) = attribute(&r, &["runtime.mallocgc", "example.com/x.build", "main.main"]);
        assert_eq!(cat, UNATTRIBUTED);
        assert_eq!(frame, "example.com/x.build", "unattributed names the first non-plumbing frame");
    }

    #[test]
    fn crypto_is_tls_only_as_a_fallback() {
        let r = rules();
        let (cat, _, _) = attribute(&r, &["crypto/sha256.New", "net/http.(*conn).serve"]);
        assert_eq!(cat, "http-request");
        let (cat, _, _) = attribute(&r, &["math/big.nat.make", "crypto/rsa.GenerateKey", "main.main"]);
        assert_eq!(cat, "tls");
        let (cat, _, _) = attribute(&r, &["crypto/tls.(*Conn).readHandshake", "net/http.(*conn).serve"]);
        assert_eq!(cat, "tls");
    }

    #[test]
    fn traefik_reload_frames() {
        let r = rules();
        for f in [
            "github.com/traefik/traefik/v2/pkg/server.(*ConfigurationWatcher).applyConfigurations",
            "github.com/traefik/traefik/v3/pkg/config/dynamic.(*HTTPConfiguration).DeepCopyInto",
            "github.com/traefik/traefik/v2/pkg/server/router.(*Manager).BuildHandlers",
            "github.com/traefik/traefik/v2/pkg/middlewares/accesslog.NewFieldHandler",
            "main.switchRouter.func1",
        ] {
            assert_eq!(attribute(&r, &["runtime.mallocgc", f]).0, "config-reload", "{f}");
        }
        assert_eq!(
            attribute(&r, &["github.com/traefik/traefik/v2/pkg/middlewares/forwardedheaders.(*XForwarded).ServeHTTP"])
                .0,
            "http-request"
        );
        assert_eq!(
            attribute(&r, &["github.com/traefik/traefik/v2/pkg/middlewares/accesslog.(*Handler).ServeHTTP"]).0,
            "logging"
        );
    }

    #[test]
    fn user_rules_extend_and_override() {
        let user = RulesFile::parse(
            r#"
plumbing = ['^example\.com/lib/pool\.']
[[category]]
name = "cache"
description = "our LRU"
patterns = ['^example\.com/shop/cache\.']
[[category]]
name = "http-request"
mode = "replace"
patterns = ['^example\.com/shop/api\.']
"#,
        )
        .unwrap();
        let builtin = RulesFile::parse(BUILTIN).unwrap();
        let r = RuleSet::new(builtin.merged(user)).unwrap();
        assert_eq!(r.category_names().next(), Some("cache"), "user categories come first");
        assert_eq!(attribute(&r, &["example.com/shop/cache.(*LRU).Put", "net/http.(*conn).serve"]).0, "cache");
        // http-request replaced: net/http frames no longer match it
        assert_eq!(attribute(&r, &["example.com/x.f", "net/http.(*conn).serve"]).0, UNATTRIBUTED);
        assert_eq!(attribute(&r, &["example.com/lib/pool.Get", "example.com/shop/api.h"]).1, "example.com/shop/api.h");
    }

    /// A stack's span, built from its locations' spans (node ids), decides
    /// as `attribute` does over its frames (positions): random stacks of
    /// random classes and signature bits (the built-in signatures' bits, so
    /// that some stacks match one), cut into random locations.
    #[test]
    fn span_decides_as_attribute() {
        let r = rules();
        let masks = r.sig_masks.clone();
        assert!(!masks.is_empty(), "the built-in pack has signatures");
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        // Node ids are indexes into `info`.
        let info: Vec<FrameInfo> = (0..64)
            .map(|_| {
                let class = match next(4) {
                    0 => FrameClass::Plumbing,
                    1 => FrameClass::Unknown,
                    2 => FrameClass::Strong(next(3) as u16, next(50) as u32),
                    _ => FrameClass::Weak(next(3) as u16, next(50) as u32),
                };
                // A random part of one signature's bits, now and then.
                let m = masks[next(masks.len() as u64) as usize];
                let sig_bits = if next(3) == 0 { m & !(1u128 << next(128)) } else { 0 };
                FrameInfo { class, sig_bits }
            })
            .collect();
        let (mut signed, mut decided, mut unattributed) = (0, 0, 0);
        for _ in 0..20_000 {
            // Mostly plumbing and unknown frames, so that all outcomes occur.
            let stack: Vec<u32> = (0..next(12))
                .map(|_| {
                    let range = if next(2) == 0 { 64 } else { 8 };
                    next(range) as u32
                })
                .collect();
            let mut span = Span::EMPTY;
            let mut at = 0;
            while at < stack.len() {
                let len = 1 + next(3) as usize;
                let loc = &stack[at..(at + len).min(stack.len())];
                span = span.then(&Span::of(loc.iter().map(|&n| (n, &info[n as usize]))));
                at += len;
            }
            let want = r.attribute(stack.iter().map(|&n| &info[n as usize]));
            match r.decide(&span, |n| info[n as usize].class) {
                Decision::Signature(si) => {
                    assert_eq!(want.signature, Some(si), "{stack:?}");
                    signed += 1;
                }
                Decision::Frame { category, rule, frame } => {
                    assert_eq!(want.signature, None, "{stack:?}");
                    let want_node = stack.get(want.frame).copied().unwrap_or(NO_FRAME);
                    assert_eq!((category, rule, frame), (want.category, want.rule, want_node), "{stack:?}");
                    if category.is_some() {
                        decided += 1;
                    } else {
                        unattributed += 1;
                    }
                }
            }
        }
        assert!(signed > 100 && decided > 1000 && unattributed > 1000, "{signed} {decided} {unattributed}");
    }

    #[test]
    fn bad_user_rules_are_errors() {
        assert!(RulesFile::parse("[[category]]\nname = 'x'\nbogus = 1\n").is_err());
        let mut f = RulesFile::parse(BUILTIN).unwrap();
        f.categories[0].patterns.push("(".into());
        assert!(RuleSet::new(f).unwrap_err().contains("regex"));
        let json = r#"{"category": [{"name": "db", "patterns": ["^database/sql\\."]}]}"#;
        assert_eq!(RulesFile::parse(json).unwrap().categories[0].name, "db");
    }
}
