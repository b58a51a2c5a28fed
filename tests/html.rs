//! `--format html`: a self-contained page (checked as text), and a
//! headless Chromium that opens it and must render it without errors.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn scenario(name: &str) -> (PathBuf, PathBuf) {
    let d = root().join("testdata/leaks").join(name);
    (d.join("00-heap.pb.gz"), d.join("05-heap.pb.gz"))
}

fn html_of(args: &[&str]) -> String {
    let o = leakscope(args);
    assert!(o.status.success(), "leakscope {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("UTF-8 HTML")
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Nothing in the page may load from elsewhere.
fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for bad in ["<link", "@import", "url(http", "url(//", "src=\"http", "src='http", "src=\"//", "<iframe", "<img"] {
        assert!(!lower.contains(bad), "the page loads something from outside: {bad}");
    }
    // src/href attributes of tags (escaped text has no raw `<`).
    let re = regex::Regex::new(r#"(?i)<[a-z][^<>]*?\s(?:src|href|xlink:href)\s*=\s*["']?([^"'\s>]+)"#).unwrap();
    for c in re.captures_iter(html) {
        let url = &c[1];
        assert!(url.starts_with('#') || url.starts_with("data:"), "external reference {url}");
    }
    assert!(html.len() < 4 << 20, "page is {} bytes", html.len());
}

#[test]
fn diff_html_is_self_contained_and_complete() {
    let (b, n) = scenario("config-reload");
    let html = html_of(&["diff", "--format", "html", s(&b), s(&n)]);
    let doc = leakscope_json(&["diff", "--format", "json", s(&b), s(&n)]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert_self_contained(&html);
    // verdict, reasons, next steps
    assert!(html.contains(&esc(doc["verdict"]["headline"].as_str().unwrap())));
    for r in doc["verdict"]["reasons"].as_array().unwrap() {
        assert!(html.contains(&esc(r.as_str().unwrap())), "reason {r}");
    }
    for st in doc["next_steps"].as_array().unwrap() {
        assert!(html.contains(&esc(st.as_str().unwrap())));
    }
    // category table, sites with stacks, signatures, functions
    assert!(html.contains(r#"id="t-categories""#));
    for c in doc["categories"].as_array().unwrap() {
        assert!(html.contains(&format!("<td>{}", esc(c["name"].as_str().unwrap()))));
    }
    for site in doc["sites"].as_array().unwrap() {
        assert!(html.contains(&esc(site["frame"].as_str().unwrap())));
    }
    assert!(html.contains("<details><summary>"), "stacks are in <details>");
    assert!(html.contains("traefik-11423-logrus-writer-per-proxy"));
    for f in doc["functions"].as_array().unwrap() {
        assert!(html.contains(&esc(f["name"].as_str().unwrap())));
    }
    // charts and the differential flame graph, inline
    assert!(html.contains(r#"<svg class="chart""#));
    assert!(html.contains(r#"<svg id="flamegraph""#));
    assert!(html.contains(r#"id="frames""#), "inferno's frames");
    assert!(html.contains("rgb(255,"), "growth frames are red");
    // sorting and filtering are scripted in the page, tables are server-side
    assert!(html.contains(r#"class="sortable""#) && html.contains("sortBy"));
}

#[test]
fn untrusted_names_are_escaped() {
    // A category name and signature text from a rules file, shown as text.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        r#"
[[category]]
name = "<script>alert(1)</script>"
description = "x"
patterns = ['^github\.com/gorilla/mux\.']

[[signature]]
id = "sig-<b>&"
title = "<img src=x onerror=alert(2)>"
category = "<script>alert(1)</script>"
fixed_in = "\"quoted\""
affected = "all"
advice = "</td></tr></table><script>alert(3)</script>"
references = []
all = ['^github\.com/gorilla/mux\.newRouteRegexp$']
"#,
    )
    .unwrap();
    let (b, n) = scenario("config-reload");
    let html = html_of(&["diff", "--format", "html", "--rules", s(&rules), s(&b), s(&n)]);
    assert!(!html.contains("<script>alert"), "unescaped script from a rules file");
    assert!(!html.contains("<img src=x"));
    assert!(!html.contains("</td></tr></table><script>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("sig-&lt;b&gt;&amp;"));
    assert_self_contained(&html);
}

#[test]
fn trend_html_has_a_chart_per_category() {
    let dir = root().join("testdata/leaks/metrics");
    let html = html_of(&["trend", "--format", "html", s(&dir)]);
    let doc = leakscope_json(&["trend", "--format", "json", s(&dir)]);
    assert_self_contained(&html);
    assert!(html.contains(&esc(doc["verdict"]["headline"].as_str().unwrap())));
    let cats = doc["categories"].as_array().unwrap();
    assert!(!cats.is_empty());
    // one line chart for the total and one per category
    assert_eq!(html.matches("<polyline").count(), cats.len() + 1);
    for c in cats {
        assert!(html.contains(&format!(r#"aria-label="{}"#, esc(c["name"].as_str().unwrap()))));
    }
    // the first -> last diff: stacks and the differential flame graph
    assert!(html.contains(r#"<svg id="flamegraph""#));
    assert!(html.contains("<details><summary>"));
    // `diff` with more than two snapshots is `trend`, in HTML too
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-heap.pb.gz"))
        .collect();
    files.sort();
    let mut args = vec!["diff", "--format", "html"];
    args.extend(files.iter().map(|p| s(p)));
    assert!(html_of(&args).contains("Leak trend report"));
}

/// A Chromium-family browser, if one is installed.
fn browser() -> Option<PathBuf> {
    for c in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
        if Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()) {
            return Some(PathBuf::from(c));
        }
    }
    assert!(!in_ci(), "CI=true but no chromium: .ci/run installs Debian's chromium for the browser test");
    visible("SKIPPED: no chromium/chromium-browser/google-chrome; the HTML browser test needs one");
    None
}

/// Runs the browser headless with `args` on `url`, with a time limit.
fn headless(browser: &Path, profile: &Path, args: &[&str], url: &str) -> std::process::Output {
    let mut child = Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=5000",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the browser");
    // Read both pipes on threads so a chatty browser cannot block.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut so, &mut v).ok();
        v
    });
    let t2 = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut se, &mut v).ok();
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > Duration::from_secs(120) {
            child.kill().ok();
            panic!("the browser did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::process::Output { status, stdout: t1.join().unwrap(), stderr: t2.join().unwrap() }
}

/// Console messages from the page, from Chromium's log
/// (`INFO:CONSOLE:LINE] "message", source: file:///…`). The report logs
/// nothing, so any message is a failure; so is any uncaught exception.
fn page_errors(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| (l.contains(":CONSOLE") && l.contains("source: file://")) || l.contains("Uncaught"))
        .map(String::from)
        .collect()
}

/// `html` as report.html in a new directory, and its file:// URL.
fn page(html: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, html).unwrap();
    let url = format!("file://{}", page.display());
    (dir, url)
}

#[test]
fn browser_renders_the_report() {
    let Some(browser) = browser() else { return };
    let (b, n) = scenario("config-reload");
    let html = html_of(&["diff", "--format", "html", s(&b), s(&n)]);
    let doc = leakscope_json(&["diff", "--format", "json", s(&b), s(&n)]);
    let (dir, url) = page(&html);
    let profile = dir.path().join("chromium-profile");

    // The DOM after scripts ran.
    let o = headless(&browser, &profile, &["--dump-dom"], &url);
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "chromium --dump-dom failed: {stderr}");
    let dom = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(dom.contains("</html>"), "no DOM dumped; stderr: {stderr}");
    // The page's scripts ran to the end and recorded no error.
    assert!(dom.contains(r#"data-js="ready""#), "the page script did not finish; stderr: {stderr}");
    assert!(dom.contains(r#"data-js-errors="0""#), "script errors in the page: {}", error_text(&dom));
    let errs = page_errors(&stderr);
    assert!(errs.is_empty(), "console errors:\n{}", errs.join("\n"));
    // The verdict and the top category are there.
    let headline = doc["verdict"]["headline"].as_str().unwrap();
    assert!(dom.contains(&esc(headline)), "verdict headline not rendered");
    let top = doc["verdict"]["category"].as_str().expect("config-reload is a leak");
    assert_eq!(top, "config-reload");
    assert!(dom.contains(&format!("<td>{top}")), "top category not in the rendered table");
    // The flame graph is in the DOM, initialised by its script (inferno's
    // init() fills in the frames' total and sets up the details line).
    assert!(dom.contains(r#"<svg id="flamegraph""#), "no flame graph svg");
    assert!(dom.contains(r#"id="frames""#) && dom.contains("fg:w="));
    // The filter boxes were added by the script.
    assert!(dom.contains(r#"class="filter""#));

    // A screenshot, kept as a test artifact (not committed).
    let shot = root().join("target/leakscope-html-screenshot.png");
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&shot);
    let o =
        headless(&browser, &profile, &[&format!("--screenshot={}", shot.display()), "--window-size=1280,2600"], &url);
    assert!(o.status.success(), "chromium --screenshot failed: {}", String::from_utf8_lossy(&o.stderr));
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "screenshot is {} bytes", png.len());
    let errs = page_errors(&String::from_utf8_lossy(&o.stderr));
    assert!(errs.is_empty(), "console errors:\n{}", errs.join("\n"));
    visible(&format!("browser test: rendered without errors; screenshot {}", shot.display()));
}

/// Measures the rendered page from inside it, after its scripts ran, and
/// leaves the result as JSON in `data-probe` on `<html>` for `--dump-dom`.
const PROBE: &str = r##"<script>
setTimeout(function () {
  var r = {};
  var box = document.getElementById("flame-search");
  if (box) {
    var b = box.getBoundingClientRect(), cs = getComputedStyle(box);
    r.search = { w: b.width, h: b.height, left: b.left, right: b.right, vw: window.innerWidth,
                 display: cs.display, visibility: cs.visibility, opacity: cs.opacity };
    box.value = "writerScanner";
    box.dispatchEvent(new Event("input"));
    r.matched = document.getElementById("matched").textContent;
    r.highlighted = document.querySelectorAll('#frames rect[fill="rgb(230,0,230)"]').length;
    box.value = "";
    box.dispatchEvent(new Event("input"));
    r.after_clear = document.querySelectorAll('#frames rect[fill="rgb(230,0,230)"]').length;
  }
  r.button_opacity = getComputedStyle(document.getElementById("search")).opacity;
  r.labels = Array.prototype.map.call(document.querySelectorAll("#frames g"), function (g) {
    var t = g.querySelector("text");
    return [g.querySelector("title").textContent.replace(/\([^(]*\)$/, "").trim(), t.textContent,
            t.getComputedTextLength(), g.querySelector("rect").getBBox().width];
  });
  r.why = Array.prototype.map.call(document.querySelectorAll("#t-sites tbody tr"), function (tr) {
    var td = tr.cells[tr.cells.length - 1];
    return [td.getAttribute("title"), td.textContent];
  });
  document.documentElement.setAttribute("data-probe", JSON.stringify(r));
}, 300);
</script>"##;

fn probe(dom: &str) -> serde_json::Value {
    let re = regex::Regex::new(r#"data-probe="([^"]*)""#).unwrap();
    let raw = &re.captures(dom).expect("the probe ran and left data-probe")[1];
    let json = raw.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    serde_json::from_str(&json).expect("probe JSON")
}

/// In the real browser (issue 18, section 5): the flame graph's labels keep
/// the end of the function name, trimmed from the left as the standalone
/// SVG's are; a search box is on screen and highlights frames; the why
/// column shows the rule's short form with the full pattern as its title.
#[test]
fn browser_shows_flame_labels_search_and_why() {
    let Some(browser) = browser() else { return };
    let (b, n) = scenario("config-reload");
    let html = html_of(&["diff", "--format", "html", s(&b), s(&n)]);
    let doc = leakscope_json(&["diff", "--format", "json", s(&b), s(&n)]);
    let (dir, url) = page(&html.replacen("</body>", &format!("{PROBE}</body>"), 1));
    let o = headless(&browser, &dir.path().join("p"), &["--dump-dom", "--window-size=1280,2000"], &url);
    let dom = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(dom.contains(r#"data-js-errors="0""#), "script errors in the page: {}", error_text(&dom));
    let r = probe(&dom);

    // Labels: whole, empty, or `..` and the end of the name; some are cut.
    let labels = r["labels"].as_array().unwrap();
    assert!(labels.len() > 10, "{r}");
    let mut cut = 0;
    for l in labels {
        // inferno's script keeps the blank before the title's numbers.
        let (name, label) = (l[0].as_str().unwrap(), l[1].as_str().unwrap().trim_end());
        let (drawn, room) = (l[2].as_f64().unwrap(), l[3].as_f64().unwrap());
        assert!(drawn <= room, "label {label:?} is {drawn} px wide in a frame of {room} px: its end is hidden");
        if let Some(tail) = label.strip_prefix("..") {
            assert!(name.ends_with(tail) && !tail.is_empty(), "label {label:?} is not the end of {name:?}");
            cut += 1;
        } else {
            assert!(label.is_empty() || label == name, "label {label:?} of {name:?}");
        }
    }
    assert!(cut > 0, "no label needed trimming: {labels:?}");

    // The search box: on screen, with a size, and it searches.
    let sb = &r["search"];
    assert!(sb.is_object(), "no search box: {r}");
    assert!(sb["w"].as_f64().unwrap() >= 100.0 && sb["h"].as_f64().unwrap() >= 10.0, "{sb}");
    assert!(sb["left"].as_f64().unwrap() >= 0.0 && sb["right"].as_f64().unwrap() <= sb["vw"].as_f64().unwrap(), "{sb}");
    assert_eq!(
        (sb["display"].as_str(), sb["visibility"].as_str(), sb["opacity"].as_str()),
        (Some("inline-block"), Some("visible"), Some("1")),
        "{sb}"
    );
    assert!(r["highlighted"].as_u64().unwrap() >= 1, "typing highlights the matching frames: {r}");
    assert!(r["matched"].as_str().unwrap().starts_with("Matched: "), "{r}");
    assert_eq!(r["after_clear"], 0, "clearing the box clears the highlight: {r}");
    assert_eq!(r["button_opacity"], "1", "inferno's Search button is not faded out: {r}");

    // The why column: the short form, the full text on hover.
    let why = r["why"].as_array().unwrap();
    let sites = doc["sites"].as_array().unwrap();
    assert_eq!(why.len(), sites.len());
    for (w, site) in why.iter().zip(sites) {
        let (title, text) = (w[0].as_str().unwrap(), w[1].as_str().unwrap());
        let rule = site["rule"].as_str().unwrap();
        assert_eq!(title, rule);
        if rule.starts_with("rule ^") {
            assert!(text.len() < rule.len() && !text.contains('\\'), "{text:?} is not short for {rule:?}");
        } else {
            assert_eq!(text, rule);
        }
    }
    let mux = why.iter().find(|w| w[0].as_str().unwrap().contains("gorilla/mux")).expect("the gorilla/mux rule");
    assert_eq!(mux[1], "rule github.com/gorilla/mux.…");
}

fn error_text(dom: &str) -> String {
    let start = dom.find(r#"id="js-errors""#).unwrap_or(0);
    dom[start..].chars().take(600).collect()
}

#[test]
fn browser_catches_errors_in_the_page() {
    // The error capture the browser test relies on does see a thrown error.
    let Some(browser) = browser() else { return };
    let (b, n) = scenario("metrics");
    let html = html_of(&["diff", "--format", "html", s(&b), s(&n)]);
    let broken = html.replacen("</body>", "<script>undefinedFunctionForTheTest();</script></body>", 1);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("broken.html");
    std::fs::write(&page, broken).unwrap();
    let o = headless(&browser, &dir.path().join("p"), &["--dump-dom"], &format!("file://{}", page.display()));
    let dom = String::from_utf8_lossy(&o.stdout);
    assert!(dom.contains(r#"data-js-errors="1""#), "the error went unnoticed");
    assert!(dom.contains("undefinedFunctionForTheTest"));
    // Chromium's log has it too, where the browser test looks.
    let errs = page_errors(&String::from_utf8_lossy(&o.stderr));
    assert!(errs.iter().any(|e| e.contains("undefinedFunctionForTheTest")), "not in the log: {errs:?}");
}

fn heap_pair(name: &str) -> (PathBuf, PathBuf) {
    let d = root().join("testdata/heapdumps").join(name);
    (d.join("1.heapdump.gz"), d.join("2.heapdump.gz"))
}

#[test]
fn heap_dump_html_is_self_contained_and_complete() {
    let (_, n) = heap_pair("global-map");
    let html = html_of(&["heap", "--format", "html", s(&n)]);
    let doc = leakscope_json(&["heap", "--format", "json", s(&n)]);
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_self_contained(&html);
    assert!(html.contains(&esc(doc["verdict"].as_str().unwrap())));
    let sus = &doc["suspects"][0];
    assert!(html.contains(&esc(sus["description"].as_str().unwrap())));
    for step in sus["path"].as_array().unwrap() {
        assert!(html.contains(&esc(step["label"].as_str().unwrap())), "path step {step}");
    }
    for site in doc["sites"].as_array().unwrap() {
        assert!(html.contains(&esc(site["function"].as_str().unwrap())));
    }
    assert!(html.contains(r#"<svg id="flamegraph""#) || html.contains("id=\"flamegraph\""), "flame graph");

    let (b, n) = heap_pair("goroutine-stack");
    let html = html_of(&["diff", "--format", "html", s(&b), s(&n)]);
    let doc = leakscope_json(&["diff", "--format", "json", s(&b), s(&n)]);
    assert_self_contained(&html);
    assert!(html.contains(&esc(doc["verdict"].as_str().unwrap())));
    for site in doc["sites"].as_array().unwrap() {
        assert!(html.contains(&esc(site["label"].as_str().unwrap())));
    }
    assert!(html.contains("Differential flame graph"));
}

#[test]
fn browser_renders_the_heap_dump_report() {
    let Some(browser) = browser() else { return };
    let (b, n) = heap_pair("config-registry");
    let html = html_of(&["diff", "--format", "html", s(&b), s(&n)]);
    let doc = leakscope_json(&["diff", "--format", "json", s(&b), s(&n)]);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("heap.html");
    std::fs::write(&page, &html).unwrap();
    let url = format!("file://{}", page.display());
    let o = headless(&browser, &dir.path().join("chromium-profile"), &["--dump-dom"], &url);
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "chromium --dump-dom failed: {stderr}");
    let dom = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(dom.contains(r#"data-js="ready""#), "the page script did not finish; stderr: {stderr}");
    assert!(dom.contains(r#"data-js-errors="0""#), "script errors in the page: {}", error_text(&dom));
    let errs = page_errors(&stderr);
    assert!(errs.is_empty(), "console errors:\n{}", errs.join("\n"));
    assert!(dom.contains(&esc(doc["verdict"].as_str().unwrap())), "verdict not rendered");
    // The top growing category is config-reload, and it is in the page.
    let top = doc["categories"][0]["key"].as_str().unwrap();
    assert_eq!(top, "config-reload");
    assert!(dom.contains(top));
    assert!(dom.contains(r#"<svg id="flamegraph""#) && dom.contains("fg:w="), "flame graph not initialised");
    assert!(dom.contains(r#"class="filter""#));
}
