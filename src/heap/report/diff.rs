//! The diff of two dumps: aggregates aligned by key (root, site stack,
//! category, shape), since addresses differ between dumps.

use super::*;

struct Agg {
    label: String,
    /// For sites: the allocating function.
    function: Option<String>,
    category: Option<String>,
    retained: u64,
    bytes: Option<u64>,
    objects: u64,
    kept_by: Option<String>,
}

fn root_aggs(v: &View<'_, '_>) -> FxHashMap<String, Agg> {
    let a = v.a;
    let mut m: FxHashMap<String, Agg> = FxHashMap::default();
    for i in 0..a.graph.roots.len() {
        let key = v.root_diff_key(i);
        let ret = a.retained[a.graph.root_node(i) as usize];
        let e = m.entry(key.clone()).or_insert_with(|| Agg {
            label: key.clone(),
            function: None,
            category: v.cat(a.root_attr[i].category),
            retained: 0,
            bytes: None,
            objects: 0,
            kept_by: None,
        });
        e.retained += ret;
        e.objects += 1;
    }
    m
}

fn site_aggs(v: &View<'_, '_>) -> FxHashMap<String, Agg> {
    let a = v.a;
    let nb = a.dump.buckets.len();
    let ret = &a.site_retained;
    let shallow = a.site_shallow();
    let keepers = site_keepers(v, nb);
    let mut m: FxHashMap<String, Agg> = FxHashMap::default();
    for b in 0..nb {
        if shallow[b].objects == 0 {
            continue;
        }
        let d = a.dump;
        let stack: Vec<&str> = d.bucket_frames(&d.buckets[b]).iter().map(|f| d.str(f.func)).collect();
        let key = stack.join(" < ");
        let e = m.entry(key).or_insert_with(|| Agg {
            label: a.site_function(b as u32).to_string(),
            function: Some(a.site_function(b as u32).to_string()),
            category: v.cat(a.bucket_attr[b].category),
            retained: 0,
            bytes: Some(0),
            objects: 0,
            kept_by: Some(match keepers[b] {
                NONE => "shared (several roots)".into(),
                k => v.root_diff_key(a.graph.root_of_node(k).unwrap_or(0)),
            }),
        });
        e.retained += ret[b];
        e.bytes = Some(e.bytes.unwrap_or(0) + shallow[b].bytes);
        e.objects += shallow[b].objects;
    }
    m
}

fn category_aggs(v: &View<'_, '_>) -> FxHashMap<String, Agg> {
    categories(v)
        .into_iter()
        .map(|c| {
            (
                c.name.clone(),
                Agg {
                    label: c.name,
                    function: None,
                    category: None,
                    retained: c.retained,
                    bytes: Some(c.shallow.bytes),
                    objects: c.shallow.objects,
                    kept_by: None,
                },
            )
        })
        .collect()
}

fn shape_aggs(v: &View<'_, '_>) -> FxHashMap<String, Agg> {
    let a = v.a;
    let ns = a.shapes.len();
    let ret = &a.shape_retained;
    let shallow = a.group_shallow(&a.obj_shape, ns);
    let mut m: FxHashMap<String, Agg> = FxHashMap::default();
    for s in 0..ns {
        if shallow[s].objects == 0 {
            continue;
        }
        let label = a.shapes[s].label();
        let e = m.entry(label.clone()).or_insert_with(|| Agg {
            label,
            function: None,
            category: None,
            retained: 0,
            bytes: Some(0),
            objects: 0,
            kept_by: None,
        });
        e.retained += ret[s];
        e.bytes = Some(e.bytes.unwrap_or(0) + shallow[s].bytes);
        e.objects += shallow[s].objects;
    }
    m
}

/// Aligns aggregates by key. Rows are ordered by the change of their own
/// live bytes when `by_bytes` (sites, shapes: what a heap profile would show
/// grew), else by the change of retained bytes (roots, categories).
fn align(base: FxHashMap<String, Agg>, new: FxHashMap<String, Agg>, top: usize, by_bytes: bool) -> Vec<DeltaRow> {
    let mut rows: Vec<DeltaRow> = Vec::new();
    let mut base = base;
    let row = |key: String, b: Option<Agg>, n: Option<Agg>| {
        let (label, function, category, kept_by) = match (&n, &b) {
            (Some(n), _) => (n.label.clone(), n.function.clone(), n.category.clone(), n.kept_by.clone()),
            (None, Some(b)) => (b.label.clone(), b.function.clone(), b.category.clone(), None),
            _ => unreachable!("a key comes from one side at least"),
        };
        let ret = |x: &Option<Agg>| x.as_ref().map_or(0, |a| a.retained);
        let bytes = |x: &Option<Agg>| x.as_ref().map(|a| a.bytes.unwrap_or(0));
        let has_bytes = n.as_ref().or(b.as_ref()).is_some_and(|a| a.bytes.is_some());
        let (bb, nb) =
            if has_bytes { (Some(bytes(&b).unwrap_or(0)), Some(bytes(&n).unwrap_or(0))) } else { (None, None) };
        DeltaRow {
            key,
            label,
            function,
            category,
            base: ret(&b),
            new: ret(&n),
            delta: ret(&n) as i64 - ret(&b) as i64,
            base_bytes: bb,
            new_bytes: nb,
            bytes_delta: bb.zip(nb).map(|(x, y)| y as i64 - x as i64),
            base_objects: b.as_ref().map_or(0, |a| a.objects),
            new_objects: n.as_ref().map_or(0, |a| a.objects),
            kept_by,
        }
    };
    for (k, n) in new {
        let b = base.remove(&k);
        rows.push(row(k, b, Some(n)));
    }
    for (k, b) in base {
        rows.push(row(k, Some(b), None));
    }
    let key = |r: &DeltaRow| if by_bytes { r.bytes_delta.unwrap_or(0) } else { r.delta };
    rows.sort_by(|x, y| key(y).cmp(&key(x)).then_with(|| y.delta.cmp(&x.delta)).then_with(|| x.key.cmp(&y.key)));
    rows.retain(|r| r.delta != 0 || r.bytes_delta.is_some_and(|d| d != 0));
    rows.truncate(top);
    rows
}

/// Builds the diff of two analysed dumps.
pub fn build_diff(
    base: &Analysis<'_>,
    base_file: &str,
    new: &Analysis<'_>,
    new_file: &str,
    rules: &RuleSet,
    o: &Options,
) -> HeapDiffReport {
    let vb = View::new(base, rules);
    let vn = View::new(new, rules);
    let sb = summary(base, base_file);
    // The new dump's own report gives its summary, suspects and next steps.
    let one = build_from(&vn, new_file, o);
    let sn = one.summary.clone();
    let reachable_delta = sn.reachable.bytes as i64 - sb.reachable.bytes as i64;
    let grew = reachable_delta >= 64 * 1024 && reachable_delta as f64 >= 0.10 * sb.reachable.bytes as f64;
    let roots = align(root_aggs(&vb), root_aggs(&vn), o.top, false);
    let sites = align(site_aggs(&vb), site_aggs(&vn), o.top, true);
    let categories = align(category_aggs(&vb), category_aggs(&vn), usize::MAX, false);
    let shapes = align(shape_aggs(&vb), shape_aggs(&vn), o.top, true);
    let b = |x: i64| crate::units::bytes(x);
    let verdict = if !grew {
        format!(
            "No significant growth: the reachable heap changed by {} ({} → {}).",
            crate::report::style::signed(reachable_delta, "bytes"),
            b(sb.reachable.bytes as i64),
            b(sn.reachable.bytes as i64)
        )
    } else {
        let what = match (roots.first(), sites.first()) {
            (Some(r), Some(s)) => format!(
                "; most under {} ({} retained), allocated in {} ({} live), kept by {}",
                r.label,
                crate::report::style::signed(r.delta, "bytes"),
                s.label,
                crate::report::style::signed(s.bytes_delta.unwrap_or(0), "bytes"),
                s.kept_by.as_deref().unwrap_or("?")
            ),
            (Some(r), None) => {
                format!("; most under {} ({})", r.label, crate::report::style::signed(r.delta, "bytes"))
            }
            _ => String::new(),
        };
        format!(
            "The reachable heap grew by {} ({} → {}, {:+.0}%){what}.",
            b(reachable_delta),
            b(sb.reachable.bytes as i64),
            b(sn.reachable.bytes as i64),
            reachable_delta as f64 * 100.0 / (sb.reachable.bytes.max(1)) as f64
        )
    };
    let mut warnings = one.warnings.clone();
    if sb.go_version != sn.go_version {
        warnings.push(format!("The dumps come from different Go versions ({} and {}).", sb.go_version, sn.go_version));
    }
    let mut next_steps = Vec::new();
    if grew {
        if let Some(s) = sites.first() {
            next_steps.push(format!(
                "{} grew by {}: look at what {} keeps and why it is never released.",
                s.label,
                b(s.bytes_delta.unwrap_or(0)),
                s.kept_by.as_deref().unwrap_or("its root")
            ));
        }
        next_steps.extend(one.next_steps.iter().filter(|s| !s.starts_with("Take a second dump")).cloned());
    } else {
        next_steps.push("Nothing grew enough to chase; compare dumps further apart in time.".into());
    }
    let mut fl: FxHashMap<String, (i64, i64)> = FxHashMap::default();
    for (k, x) in folded(&vb) {
        fl.entry(k).or_default().0 += x as i64;
    }
    for (k, x) in folded(&vn) {
        fl.entry(k).or_default().1 += x as i64;
    }
    let mut flame: Vec<Folded> = fl.into_iter().map(|(stack, (base, new))| Folded { stack, base, new }).collect();
    flame.sort_unstable_by(|x, y| x.stack.cmp(&y.stack));
    HeapDiffReport {
        flame,
        schema: DIFF_SCHEMA,
        schema_minor: DIFF_SCHEMA_MINOR,
        base: sb,
        new: sn,
        reachable_delta,
        grew,
        verdict,
        roots,
        sites,
        categories,
        shapes,
        suspects: one.suspects,
        warnings,
        next_steps,
    }
}
