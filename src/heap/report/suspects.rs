//! Leak suspects: the roots and shared objects that keep a large share of
//! the heap alive, the path to each, what accumulates under it; and the
//! warnings and next steps that follow from them.

use super::*;

pub(super) fn suspect(
    v: &View<'_, '_>,
    tree: &crate::heap::dominators::Csr,
    parents: &[u32],
    members: &[u32],
    rank: usize,
) -> Suspect {
    let a = v.a;
    let top = members[0];
    // Descend while one dominated child holds most of the retention: through
    // a goroutine to its frame, through a global to its map, to the object
    // where retention fans out into many children.
    let mut at = top;
    loop {
        let ret = a.retained[at as usize];
        let best = tree.successors(at).iter().copied().max_by_key(|&c| (a.retained[c as usize], std::cmp::Reverse(c)));
        match best {
            Some(c) if a.retained[c as usize] * 10 >= ret * 8 => at = c,
            _ => break,
        }
    }
    let accumulation = (at < a.graph.n_objects).then(|| {
        let kids = tree.successors(at);
        let mut groups: FxHashMap<String, (u64, u64)> = FxHashMap::default();
        for &c in kids {
            let label = match a.obj_bucket.get(c as usize) {
                Some(&b) if b != NO_GROUP => a.site_function(b).to_string(),
                Some(_) => a.shapes[a.obj_shape[c as usize] as usize].label(),
                None => v.node_label(c),
            };
            let e = groups.entry(label).or_default();
            e.0 += 1;
            e.1 += a.retained[c as usize];
        }
        let mut groups: Vec<ChildGroup> =
            groups.into_iter().map(|(label, (objects, retained))| ChildGroup { label, objects, retained }).collect();
        groups.sort_by(|x, y| y.retained.cmp(&x.retained).then_with(|| x.label.cmp(&y.label)));
        groups.truncate(3);
        let i = at as usize;
        Accumulation {
            addr: format!("{:#x}", a.dump.objects.addr[i]),
            shape: a.shapes[a.obj_shape[i] as usize].label(),
            site: (a.obj_bucket[i] != NO_GROUP).then(|| a.site_function(a.obj_bucket[i]).to_string()),
            retained: a.retained[i],
            children: kids.len() as u64,
            groups,
        }
    });
    // Path from the super-root to the accumulation point.
    let mut chain = vec![at];
    let mut x = at;
    while parents[x as usize] != UNREACHABLE && parents[x as usize] != a.graph.super_root() {
        x = parents[x as usize];
        chain.push(x);
    }
    chain.reverse();
    let path: Vec<PathStep> = chain
        .iter()
        .map(|&n| PathStep {
            label: v.node_label(n),
            addr: (n < a.graph.n_objects).then(|| format!("{:#x}", a.dump.objects.addr[n as usize])),
            retained: a.retained[n as usize],
        })
        .collect();
    let (root, root_kind, label, mut category) = match a.graph.root_of_node(top) {
        Some(i) => (
            a.graph.roots[i].key.clone(),
            Some(a.graph.roots[i].kind.clone()),
            if members.len() > 1 {
                let g = &a.dump.goroutines[a.graph.roots[i].goroutine.unwrap_or(0) as usize];
                format!("{} {} ({})", members.len(), v.root_diff_key(i), g.wait_reason)
            } else {
                v.root_label(i)
            },
            v.cat(a.root_attr[i].category),
        ),
        None => ("shared".to_string(), None, format!("object {} kept by several roots", v.node_label(top)), None),
    };
    // The dominant allocation site below decides the category when the root does not.
    let mut signature = None;
    if let Some(b) = dominant_site(a, tree, at) {
        let att = a.bucket_attr[b as usize];
        if category.is_none() {
            category = v.cat(att.category);
        }
        signature = att.signature.map(|s| v.rules.file.signatures[s as usize].id.clone());
    }
    let ret: u64 = members.iter().map(|&m| a.retained[m as usize]).sum();
    let each = if members.len() > 1 { " (in the first of them; the others are alike)" } else { "" };
    let description = format!(
        "{label} keep{} {} alive ({:.0}% of the reachable heap){}.",
        if members.len() > 1 { "" } else { "s" },
        crate::units::bytes(ret as i64),
        v.share(ret) * 100.0,
        match &accumulation {
            Some(acc) => format!(
                "; it accumulates in {}{each} ({}), which dominates {} objects{}",
                acc.addr,
                acc.shape,
                acc.children,
                acc.groups.first().map(|g| format!(", mostly from {}", g.label)).unwrap_or_default()
            ),
            None => String::new(),
        }
    );
    Suspect {
        rank,
        root,
        root_kind,
        label,
        count: members.len() as u64,
        retained: ret,
        share: v.share(ret),
        category,
        signature,
        accumulation,
        path,
        description,
    }
}

/// The allocation site whose objects, among `at`'s dominator subtree
/// (bounded walk), hold the most bytes.
fn dominant_site(a: &Analysis<'_>, tree: &crate::heap::dominators::Csr, at: u32) -> Option<u32> {
    let mut bytes: FxHashMap<u32, u64> = FxHashMap::default();
    let mut stack = vec![at];
    let mut seen = 0usize;
    while let Some(x) = stack.pop() {
        seen += 1;
        if seen > 200_000 {
            break;
        }
        if let Some(&b) = a.obj_bucket.get(x as usize) {
            if b != NO_GROUP {
                *bytes.entry(b).or_default() += a.dump.objects.size[x as usize] as u64;
            }
        }
        stack.extend_from_slice(tree.successors(x));
    }
    bytes.into_iter().max_by_key(|&(b, n)| (n, std::cmp::Reverse(b))).map(|(b, _)| b)
}

pub(super) fn warnings(s: &Summary, go_minor: Option<u32>) -> Vec<String> {
    let mut w = Vec::new();
    if s.sample_coverage < 0.5 {
        w.push(format!(
            "Only {:.0}% of the reachable bytes have an allocation site, so sites and categories are partial. \
             For full attribution set `runtime.MemProfileRate = 1` as the first statement of main \
             (GODEBUG=memprofilerate=1 alone is ignored unless the binary uses runtime.MemProfile).",
            s.sample_coverage * 100.0
        ));
    }
    let garbage = s.unreachable.bytes.saturating_sub(s.phantom.bytes);
    if s.objects.bytes > 0 && garbage * 5 > s.objects.bytes {
        w.push(format!(
            "{} of the dump ({:.0}%) is unreachable: garbage since the last GC, or kept by a root the dump does not \
             record (cgo, cleanups, weak handles). Call runtime.GC() right before debug.WriteHeapDump.",
            crate::units::bytes(garbage as i64),
            garbage as f64 * 100.0 / s.objects.bytes as f64
        ));
    }
    if !go_minor.is_some_and(|m| (21..=27).contains(&m)) {
        w.push(format!(
            "Written by {}; leakscope's reader is checked against Go 1.21–1.27 dumps. The record format is \
             old and stable, but read the numbers with care.",
            s.go_version
        ));
    }
    w
}

pub(super) fn next_steps(suspects: &[Suspect], sites: &[SiteRow], rules: &RuleSet) -> Vec<String> {
    let mut steps = Vec::new();
    let mut seen_sig = Vec::new();
    for s in suspects.iter().take(3) {
        if let Some(sig) = &s.signature {
            if let Some(r) = rules.file.signatures.iter().find(|r| &r.id == sig) {
                if !seen_sig.contains(sig) {
                    steps.push(format!("This matches the known leak \"{}\": {}", r.title, r.advice));
                    seen_sig.push(sig.clone());
                }
            }
        }
        let what = match s.root_kind {
            Some(RootKind::Data | RootKind::Bss) => format!(
                "Global {} holds {}: find where it is added to{} and whether entries are ever removed or bounded.",
                s.root,
                crate::units::bytes(s.retained as i64),
                s.accumulation
                    .as_ref()
                    .and_then(|a| a.groups.first())
                    .map(|g| format!(" (entries come from {})", g.label))
                    .unwrap_or_default()
            ),
            Some(RootKind::Goroutine | RootKind::Frame) => format!(
                "{} holds {} on its stack: check why it does not return (a missing timeout, an unclosed channel, \
                 a request that outlives its context).",
                s.label,
                crate::units::bytes(s.retained as i64)
            ),
            Some(_) => format!("{} keeps {} alive.", s.label, crate::units::bytes(s.retained as i64)),
            None => format!(
                "{} is reachable from several roots; follow the path below to the owner.",
                crate::units::bytes(s.retained as i64)
            ),
        };
        steps.push(what);
    }
    if suspects.is_empty() {
        if let Some(s) = sites.first() {
            steps.push(format!(
                "Take a second dump later and run `leakscope diff` on the pair: a single dump shows what is big, \
                 two show what grows. The largest site now is {} ({}).",
                s.function,
                crate::units::bytes(s.retained as i64)
            ));
        }
    } else {
        steps.push(
            "Take a second dump after more traffic or reloads and run `leakscope diff OLD NEW`: growth confirms a leak."
                .into(),
        );
    }
    steps
}
