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
