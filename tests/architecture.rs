//! The layering that ARCHITECTURE.md describes, checked from the source.
//!
//! Every `crate::…` path in `src/` (outside `#[cfg(test)]` modules and
//! comments) is read, and three rules are checked:
//! 1. **Layers.** A file may use only its own layer and the layers below
//!    it: cli → api → source → analysis → report → decode → foundation.
//! 2. **No cycles** between the top-level modules, nor between the sibling
//!    modules of any directory (a module and its own children are one unit).
//! 3. **Thin CLI.** A subcommand's file uses no other subcommand's file,
//!    only `cli/common.rs`.
//!
//! Plus: no source file is longer than 700 lines unless its first lines
//! say why (`Longer than 700 lines:`).
//!
//! Run it alone with `cargo test --test architecture`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first, and which top-level modules (or files) are in each.
const LAYERS: &[(&str, &[&str])] = &[
    ("foundation", &["profile", "units", "limits", "alloc"]),
    ("decode", &["pprof", "heapdump"]),
    ("report", &["report"]),
    ("analysis", &["attribute", "graph", "diff", "trend", "heap", "fleet", "synth"]),
    ("source", &["source"]),
    ("api", &["api", "lib"]),
    ("cli", &["cli", "main"]),
];

fn layer_of(top: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&top))
}

/// `src/a/b/c.rs` → `["a", "b", "c"]`; `mod.rs` and `lib.rs` name their directory.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

/// The source without comments, string literals and `#[cfg(test)]` modules.
fn code_of(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i + 1 < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i..].starts_with(b"r#\"") {
            i += 3;
            while i + 1 < b.len() && !b[i..].starts_with(b"\"#") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('"', '\'', '\n'); lifetimes have no closing quote.
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else {
            // Paths are ASCII; anything else is blanked so that byte and
            // char offsets agree.
            out.push(if b[i].is_ascii() { b[i] as char } else { ' ' });
            i += 1;
        }
    }
    // Test modules may reach anywhere: cut each `#[cfg(test)] mod … { … }`.
    while let Some(t) = out.find("#[cfg(test)]\nmod ") {
        let Some(open) = out[t..].find('{').map(|o| t + o) else { break };
        let mut depth = 0;
        let mut end = out.len();
        for (k, c) in out[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.replace_range(t..end, "");
    }
    out
}

/// Every module path the code names: `crate::a::b`, `super::x`, and
/// `crate::{a, b::c}` groups, resolved to absolute paths.
fn references(code: &str, here: &[String]) -> Vec<Vec<String>> {
    let mut refs = Vec::new();
    let bytes = code.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < bytes.len() {
        let at_word = i == 0 || !ident(bytes[i - 1]) && bytes[i - 1] != b':';
        let rest = &code[i..];
        let (base, skip) = if at_word && rest.starts_with("crate::") {
            (Vec::new(), "crate::".len())
        } else if at_word && rest.starts_with("super::") {
            // `super` of module a::b (file a/b.rs or a/b/mod.rs) is `a`.
            let mut p = here.to_vec();
            p.pop();
            let mut j = i + "super::".len();
            while code[j..].starts_with("super::") {
                p.pop();
                j += "super::".len();
            }
            (p, j - i)
        } else {
            i += 1;
            continue;
        };
        let mut j = i + skip;
        if bytes.get(j) == Some(&b'{') {
            // A group: each member's first segment.
            let end = code[j..].find('}').map_or(code.len(), |e| j + e);
            for member in code[j + 1..end].split(',') {
                let segs: Vec<String> = member
                    .trim()
                    .split("::")
                    .map(|s| s.trim().trim_start_matches('{').to_string())
                    .take_while(|s| !s.is_empty() && s.bytes().all(ident))
                    .collect();
                if !segs.is_empty() && segs[0] != "self" {
                    let mut p = base.clone();
                    p.extend(segs);
                    refs.push(p);
                }
            }
            i = end;
            continue;
        }
        let mut p = base;
        loop {
            let s = j;
            while j < bytes.len() && ident(bytes[j]) {
                j += 1;
            }
            if s == j {
                break;
            }
            p.push(code[s..j].to_string());
            if code[j..].starts_with("::") && bytes.get(j + 2).is_some_and(|&c| ident(c)) {
                j += 2;
            } else {
                break;
            }
        }
        if !p.is_empty() {
            refs.push(p);
        }
        i = j.max(i + 1);
    }
    refs
}

struct Tree {
    /// Module path → file, for every file under src/.
    files: BTreeMap<Vec<String>, PathBuf>,
}

impl Tree {
    fn load(src: &Path) -> Tree {
        let mut files = BTreeMap::new();
        let mut stack = vec![src.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let rel = p.strip_prefix(src).unwrap();
                    // Sub-files of a module directory that are `include!`d have no module of their own.
                    files.insert(module_path(rel), p);
                }
            }
        }
        Tree { files }
    }

    /// The longest prefix of `p` that is a module with a file.
    fn resolve(&self, p: &[String]) -> Option<Vec<String>> {
        (1..=p.len()).rev().map(|n| p[..n].to_vec()).find(|q| self.files.contains_key(q))
    }
}

/// (from module, to module) for every resolved reference, self-references dropped.
fn edges(tree: &Tree) -> Vec<(Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    for (m, path) in &tree.files {
        let src = std::fs::read_to_string(path).unwrap();
        for r in references(&code_of(&src), m) {
            if let Some(to) = tree.resolve(&r) {
                if &to != m {
                    out.push((m.clone(), to));
                }
            }
        }
    }
    out
}

/// A cycle in `graph`, if any, as the list of its nodes.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        path.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = path.iter().position(|x| x == m).unwrap();
                    let mut c = path[at..].to_vec();
                    c.push(m.clone());
                    return Some(c);
                }
                0 => {
                    if let Some(c) = visit(m, g, state, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn tree() -> Tree {
    Tree::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn every_module_is_in_a_layer() {
    let t = tree();
    for m in t.files.keys() {
        let top = m.first().map_or("lib", String::as_str);
        assert!(layer_of(top).is_some(), "src module {top} is in no layer: add it to LAYERS and ARCHITECTURE.md");
    }
}

#[test]
fn layers_only_use_lower_layers() {
    let t = tree();
    let mut bad = Vec::new();
    for (from, to) in edges(&t) {
        let (f, g) = (from.first().map_or("lib", String::as_str), to[0].as_str());
        let (lf, lt) = (layer_of(f).unwrap(), layer_of(g).unwrap());
        if lt > lf {
            bad.push(format!("{} ({}) uses {} ({})", from.join("::"), LAYERS[lf].0, to.join("::"), LAYERS[lt].0));
        }
    }
    assert!(bad.is_empty(), "uses of a higher layer:\n{}", bad.join("\n"));
}

#[test]
fn no_cycles_between_modules() {
    let t = tree();
    let all = edges(&t);
    // Sibling graphs: for every directory, edges between its children,
    // lifted to the child that contains each end.
    let mut graphs: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (from, to) in &all {
        let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
        if common == from.len() || common == to.len() {
            continue; // a module and its own descendant or ancestor
        }
        let g = graphs.entry(from[..common].to_vec()).or_default();
        g.entry(from[common].clone()).or_default().insert(to[common].clone());
    }
    assert!(graphs.contains_key(&Vec::new()), "no edges between top-level modules were found: the parser is broken");
    for (dir, g) in &graphs {
        if let Some(c) = find_cycle(g) {
            panic!("import cycle in crate::{}: {}", dir.join("::"), c.join(" → "));
        }
    }
}

#[test]
fn subcommands_use_only_common() {
    let t = tree();
    let mut bad = Vec::new();
    for (from, to) in edges(&t) {
        if from.len() == 2 && from[0] == "cli" && to.len() >= 2 && to[0] == "cli" && to[1] != "common" {
            bad.push(format!("{} uses {}", from.join("::"), to.join("::")));
        }
    }
    assert!(bad.is_empty(), "CLI files that use another subcommand's file:\n{}", bad.join("\n"));
}

#[test]
fn long_files_say_why() {
    let t = tree();
    let mut bad = Vec::new();
    for path in t.files.values() {
        let src = std::fs::read_to_string(path).unwrap();
        let n = src.lines().count();
        let head: String = src.lines().take(20).collect::<Vec<_>>().join("\n");
        if n > 700 && !head.contains("Longer than 700 lines:") {
            bad.push(format!("{} ({n} lines)", path.display()));
        }
    }
    assert!(
        bad.is_empty(),
        "files over 700 lines without `Longer than 700 lines:` in their first lines:\n{}",
        bad.join("\n")
    );
}

/// The checker itself: it must see a planted violation.
#[test]
fn checker_sees_violations() {
    let here = vec!["report".to_string(), "flame".to_string()];
    let code = code_of(
        "use crate::diff::Diff;\n// crate::cli::x\nlet s = \"crate::source\";\nuse super::{html::esc, markup};\n#[cfg(test)]\nmod tests { fn f() { use crate::cli::Cli; } }\nfn g() -> crate::graph::Node { todo!() }\n",
    );
    let refs = references(&code, &here);
    let names: Vec<String> = refs.iter().map(|r| r.join("::")).collect();
    assert_eq!(names, ["diff::Diff", "report::html::esc", "report::markup", "graph::Node"]);
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert!(find_cycle(&g).is_some());
}
