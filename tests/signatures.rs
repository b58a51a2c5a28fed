//! Known-leak signatures are advised on only when they grow, and rule
//! themselves out on version evidence (issue 18, section 3).
//!
//! The profiles are built here from the real Traefik symbols named in the
//! research notes: gorilla/mux route building under Traefik v2's router
//! manager (the v2.0–2.5.6 leak, traefik#7964), and the configuration
//! watcher's methods that exist only from v2.7.0 on.

mod common;

use prost::Message;

use leakscope::pprof::proto;

const MUX: &[&str] = &[
    "github.com/gorilla/mux.(*Router).NewRoute",
    "github.com/traefik/traefik/v2/pkg/server/router.(*Manager).buildEntryPointHandler",
    "github.com/traefik/traefik/v2/pkg/server.(*RouterFactory).CreateRouters",
    "main.main",
];
const WATCHER: &[&str] =
    &["github.com/traefik/traefik/v2/pkg/server.(*ConfigurationWatcher).applyConfigurations", "main.main"];
const OTHER: &[&str] = &["main.cache", "main.main"];

/// A heap profile (inuse_space, inuse_objects, alloc_space, alloc_objects)
/// from stacks, leaf first, with their inuse bytes.
fn profile(stacks: &[(&[&str], i64)], time: i64) -> Vec<u8> {
    let mut strings = vec![String::new()];
    let mut s = |x: &str| -> i64 {
        if let Some(i) = strings.iter().position(|y| y == x) {
            return i as i64;
        }
        strings.push(x.to_string());
        strings.len() as i64 - 1
    };
    let mut p = proto::Profile::default();
    for (t, u) in
        [("inuse_space", "bytes"), ("inuse_objects", "count"), ("alloc_space", "bytes"), ("alloc_objects", "count")]
    {
        p.sample_type.push(proto::ValueType { r#type: s(t), unit: s(u) });
    }
    p.period_type = Some(proto::ValueType { r#type: s("space"), unit: s("bytes") });
    p.period = 512 * 1024;
    p.time_nanos = time;
    let mut funcs: Vec<String> = Vec::new();
    for (stack, bytes) in stacks {
        let mut ids = Vec::new();
        for f in *stack {
            let id = match funcs.iter().position(|g| g == f) {
                Some(i) => i as u64 + 1,
                None => {
                    funcs.push(f.to_string());
                    let id = funcs.len() as u64;
                    p.function.push(proto::Function { id, name: s(f), system_name: s(f), ..Default::default() });
                    p.location.push(proto::Location {
                        id,
                        line: vec![proto::Line { function_id: id, line: 1, ..Default::default() }],
                        ..Default::default()
                    });
                    id
                }
            };
            ids.push(id);
        }
        let objects = (bytes / 512).max(1);
        p.sample.push(proto::Sample {
            location_id: ids,
            value: vec![*bytes, objects, *bytes * 4, objects * 4],
            label: vec![],
        });
    }
    p.string_table = strings;
    p.encode_to_vec()
}

fn write(dir: &std::path::Path, name: &str, bytes: Vec<u8>) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

fn diff(base: &str, new: &str) -> serde_json::Value {
    common::leakscope_json(&["diff", "--format", "json", base, new])
}

fn upgrade_advice(doc: &serde_json::Value) -> Vec<String> {
    doc["next_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .filter(|s| s.contains("Upgrade") || s.contains("upgrade"))
        .collect()
}

#[test]
fn a_signature_in_noise_gets_no_advice() {
    let t = tempfile::tempdir().unwrap();
    // Flat memory; one 512 KiB sample of gorilla/mux route building appears.
    let base = write(t.path(), "base.pb", profile(&[(OTHER, 40 << 20)], 1_000_000_000_000));
    let new = write(t.path(), "new.pb", profile(&[(OTHER, 40 << 20), (MUX, 512 << 10)], 1_600_000_000_000));
    let doc = diff(&base, &new);
    let sig = &doc["signatures"][0];
    assert_eq!(sig["id"], "traefik-7964-gorilla-mux-routes", "{}", doc["signatures"]);
    assert_eq!(sig["growing"], false, "512 KiB is below the 2 MiB noise floor");
    assert!(upgrade_advice(&doc).is_empty(), "{:?}", doc["next_steps"]);
    assert!(!doc["verdict"]["headline"].as_str().unwrap().contains("matches"));
    let text = String::from_utf8(common::leakscope(&["diff", "--color", "never", &base, &new]).stdout).unwrap();
    assert!(text.contains("present, not growing") && !text.contains("Upgrade Traefik"), "{text}");

    // The same signature growing by 8 MiB is advised on.
    let new = write(t.path(), "grow.pb", profile(&[(OTHER, 40 << 20), (MUX, 8 << 20)], 1_600_000_000_000));
    let doc = diff(&base, &new);
    assert_eq!(doc["signatures"][0]["growing"], true);
    assert_eq!(upgrade_advice(&doc).len(), 1, "{:?}", doc["next_steps"]);
}

#[test]
fn version_evidence_rules_a_signature_out() {
    let t = tempfile::tempdir().unwrap();
    // gorilla/mux routes grow by 8 MiB, but the configuration watcher's
    // applyConfigurations (Traefik >= 2.7.0) is in the profile: not <= 2.5.6.
    let base = write(t.path(), "base.pb", profile(&[(OTHER, 40 << 20), (WATCHER, 1 << 20)], 1_000_000_000_000));
    let new =
        write(t.path(), "new.pb", profile(&[(OTHER, 40 << 20), (WATCHER, 1 << 20), (MUX, 8 << 20)], 1_600_000_000_000));
    let doc = diff(&base, &new);
    let sig = &doc["signatures"][0];
    assert_eq!(sig["id"], "traefik-7964-gorilla-mux-routes");
    assert_eq!(sig["growing"], false);
    assert!(sig["ruled_out_by"].as_str().unwrap().contains("applyConfigurations"), "{sig}");
    assert!(upgrade_advice(&doc).is_empty(), "{:?}", doc["next_steps"]);
    assert!(!doc["verdict"]["headline"].as_str().unwrap().contains("2.5.7"));
    assert!(doc["schema_minor"].as_u64().unwrap() >= 2, "signatures[].ruled_out_by came with minor 2");
}

#[test]
fn the_reload_scenario_advises_the_fix_first_and_the_fixed_build_advises_no_upgrade() {
    let d = common::root().join("testdata/leaks");
    let doc = common::leakscope_json(&[
        "diff",
        "--format",
        "json",
        d.join("config-reload/00-heap.pb.gz").to_str().unwrap(),
        d.join("config-reload/05-heap.pb.gz").to_str().unwrap(),
    ]);
    assert!(doc["next_steps"][0].as_str().unwrap().contains("2.11.19"), "{}", doc["next_steps"]);
    for s in ["fixed", "metrics", "http-request"] {
        let doc = common::leakscope_json(&[
            "diff",
            "--format",
            "json",
            d.join(format!("{s}/00-heap.pb.gz")).to_str().unwrap(),
            d.join(format!("{s}/05-heap.pb.gz")).to_str().unwrap(),
        ]);
        assert!(upgrade_advice(&doc).is_empty(), "{s}: {:?}", doc["next_steps"]);
    }
}

fn trend(files: &[String]) -> serde_json::Value {
    let mut args = vec!["trend", "--format", "json"];
    args.extend(files.iter().map(|s| s.as_str()));
    common::leakscope_json(&args)
}

/// Five snapshots a minute apart: `OTHER` at 40 MiB, plus `extra` stacks
/// of each snapshot.
fn series(
    dir: &std::path::Path,
    name: &str,
    extra: &dyn Fn(usize) -> Vec<(&'static [&'static str], i64)>,
) -> Vec<String> {
    (0..5)
        .map(|i| {
            let mut stacks: Vec<(&[&str], i64)> = vec![(OTHER, 40 << 20)];
            stacks.extend(extra(i));
            let t = 1_000_000_000_000 + i as i64 * 60_000_000_000;
            write(dir, &format!("{name}-{i}-heap.pb"), profile(&stacks, t))
        })
        .collect()
}

/// `trend` names a growing known leak in its headline and advises on it
/// first, as `diff` does; one in noise, or ruled out by version evidence,
/// is neither named nor advised on (issue 18, section 3).
#[test]
fn trend_names_a_growing_signature_and_no_other() {
    let t = tempfile::tempdir().unwrap();
    // gorilla/mux route building grows by 2 MiB a snapshot: named.
    let grows = series(t.path(), "grows", &|i| vec![(MUX, (i as i64 + 1) * (2 << 20))]);
    let doc = trend(&grows);
    assert_eq!(doc["verdict"]["leak"], true, "{}", doc["verdict"]);
    let headline = doc["verdict"]["headline"].as_str().unwrap();
    assert!(headline.ends_with("; matches Traefik <= 2.5.6: gorilla/mux route and regexp retention across reloads (fixed in Traefik v2.5.7)"), "{headline}");
    assert_eq!(doc["signatures"][0]["id"], "traefik-7964-gorilla-mux-routes", "{}", doc["signatures"]);
    assert_eq!(doc["signatures"][0]["growing"], true);
    assert!(doc["next_steps"][0].as_str().unwrap().contains("Traefik v2.5.7"), "{}", doc["next_steps"]);

    // One 512 KiB sample in the last snapshot of a flat process: present,
    // not growing, and no advice.
    let noise = series(t.path(), "noise", &|i| if i == 4 { vec![(MUX, 512 << 10)] } else { vec![] });
    let doc = trend(&noise);
    assert_eq!(doc["signatures"][0]["id"], "traefik-7964-gorilla-mux-routes", "{}", doc["signatures"]);
    assert_eq!(doc["signatures"][0]["growing"], false);
    assert!(upgrade_advice(&doc).is_empty(), "{:?}", doc["next_steps"]);
    assert!(!doc["verdict"]["headline"].as_str().unwrap().contains("matches"));

    // Growing as before, but applyConfigurations (Traefik >= 2.7.0) is in
    // the profiles: ruled out, so the leak is reported without the signature.
    let ruled = series(t.path(), "ruled", &|i| vec![(WATCHER, 1 << 20), (MUX, (i as i64 + 1) * (2 << 20))]);
    let doc = trend(&ruled);
    assert_eq!(doc["verdict"]["leak"], true, "{}", doc["verdict"]);
    let sig = &doc["signatures"][0];
    assert_eq!(sig["growing"], false, "{sig}");
    assert!(sig["ruled_out_by"].as_str().unwrap().contains("applyConfigurations"), "{sig}");
    assert!(upgrade_advice(&doc).is_empty(), "{:?}", doc["next_steps"]);
    assert!(!doc["verdict"]["headline"].as_str().unwrap().contains("2.5.7"));
}

/// On the bundled scenarios: the config-reload trend names the Traefik
/// 2.11.17-2.11.18 signature in its headline and advises 2.11.19 first;
/// the fixed build's names none and advises no upgrade.
#[test]
fn trend_of_the_reload_scenario_names_its_signature_and_the_fixed_build_none() {
    let d = common::root().join("testdata/leaks");
    let doc = common::leakscope_json(&["trend", "--format", "json", d.join("config-reload").to_str().unwrap()]);
    let headline = doc["verdict"]["headline"].as_str().unwrap();
    assert!(headline.starts_with("LEAK SUSPECTED"), "{headline}");
    assert!(
        headline.contains("matches Traefik 2.11.17-2.11.18") && headline.contains("fixed in Traefik v2.11.19"),
        "{headline}"
    );
    assert!(doc["next_steps"][0].as_str().unwrap().contains("2.11.19"), "{}", doc["next_steps"]);
    let text = String::from_utf8(
        common::leakscope(&["trend", "--color", "never", d.join("config-reload").to_str().unwrap()]).stdout,
    )
    .unwrap();
    assert!(text.lines().any(|l| l.starts_with("LEAK SUSPECTED") && l.contains("Traefik 2.11.17-2.11.18")), "{text}");
    for s in ["fixed", "metrics", "http-request"] {
        let doc = common::leakscope_json(&["trend", "--format", "json", d.join(s).to_str().unwrap()]);
        assert!(!doc["verdict"]["headline"].as_str().unwrap().contains("matches"), "{s}: {}", doc["verdict"]);
        assert!(upgrade_advice(&doc).is_empty(), "{s}: {:?}", doc["next_steps"]);
    }
}
