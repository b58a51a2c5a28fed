//! The built-in rules checked against function names from real profiles
//! (our Go programs' and the public corpus), not against the names we
//! expect: each key pattern must match a symbol a real Go binary wrote.
//! Patterns that match nothing available are listed, as pprof warns about
//! a filter that matched no samples.

mod common;

use std::collections::BTreeSet;

use common::*;
use leakscope::attribute::{FrameClass, RuleSet};

fn names_in(files: &[std::path::PathBuf]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for f in files {
        let p = leakscope::source::read_profile(f).unwrap();
        for func in &p.functions {
            names.insert(p.str(func.name).to_string());
        }
    }
    names
}

/// Function names in our profiles and the corpus's, and whether the
/// corpus was there.
fn real_names() -> (BTreeSet<String>, bool) {
    let mut names = names_in(&testdata_profiles());
    let corpus = corpus();
    if let Some(c) = &corpus {
        names.extend(names_in(&corpus_protobufs(c)));
    }
    (names, corpus.is_some())
}

#[test]
fn key_rules_match_real_symbols() {
    let (names, with_corpus) = real_names();
    let rules = RuleSet::load(None).unwrap();
    let class_of = |n: &str| {
        let c = rules.classify(n).class;
        match c {
            FrameClass::Strong(ci, _) | FrameClass::Weak(ci, _) => Some(rules.category_name(Some(ci)).to_string()),
            _ => None,
        }
    };
    // (category, a real symbol that must exist and fall in it)
    let must = [
        ("http-request", "net/http.(*conn).serve"),
        ("goroutines", "runtime.malg"),
        ("metrics", "github.com/prometheus/client_golang/prometheus.(*MetricVec).GetMetricWithLabelValues"),
        ("metrics", "github.com/prometheus/client_golang/prometheus.newHistogram"),
        ("conn-pool", "net/http.(*Transport).dialConn"),
        ("logging", "github.com/sirupsen/logrus.(*Entry).writerScanner"),
        ("http-request", "net/http/httputil.(*ReverseProxy).ServeHTTP"),
        ("tls", "crypto/tls.(*Conn).readHandshake"),
        ("http-request", "golang.org/x/net/http2.(*serverConn).runHandler"),
    ];
    let mut missing = Vec::new();
    for (cat, sym) in must {
        if !names.contains(sym) && !with_corpus {
            // Some of these symbols come only from the corpus's real
            // services; their rule is checked when the corpus is there.
            visible(&format!("SKIPPED: {sym} is in none of our profiles; its rule is checked with the corpus"));
        } else if !names.contains(sym) {
            missing.push(format!("{sym} is not in any available profile"));
        } else if class_of(sym).as_deref() != Some(cat) {
            missing.push(format!("{sym} is {:?}, expected {cat}", class_of(sym)));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));

    // The logrus-writer signature's pattern matches real logrus frames.
    let sig = rules.file.signatures.iter().find(|s| s.id == "traefik-11423-logrus-writer-per-proxy").unwrap();
    let re = regex::Regex::new(&sig.all[0]).unwrap();
    assert!(names.iter().any(|n| re.is_match(n)), "no real frame matches {}", sig.all[0]);

    // Coverage report: category patterns that match no available symbol
    // (informational: most are Traefik-internal names absent from our
    // profiles).
    let mut unmatched = 0;
    let mut total = 0;
    for c in &rules.file.categories {
        for p in c.patterns.iter().chain(&c.fallback) {
            total += 1;
            let re = regex::Regex::new(&p.replace("{T}", leakscope::attribute::TRAEFIK_PREFIX)).unwrap();
            if !names.iter().any(|n| re.is_match(n)) {
                unmatched += 1;
            }
        }
    }
    visible(&format!(
        "rules: {} of {total} category patterns match at least one of {} real function names",
        total - unmatched,
        names.len()
    ));
}
