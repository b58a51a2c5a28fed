//! `drop_frames` / `keep_frames`, applied as `go tool pprof` applies them
//! when it reads a profile (`Profile.RemoveUninteresting` → `Prune`), so
//! that our numbers match pprof's on profiles that carry them.

use rustc_hash::FxHashMap;

use super::error::{DecodeError, ErrorKind};
use crate::profile::Profile;

/// pprof's `simplifyFunc`: strips a leading '.', then cuts the name at the
/// first '(' that does not start one of the reserved names.
fn simplify(name: &str) -> &str {
    const RESERVED: [&str; 2] = ["(anonymous namespace)", "operator()"];
    let name = name.strip_prefix('.').unwrap_or(name);
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Bytes, not `name[i..]`: `i` may fall inside a multi-byte character.
        if let Some(r) = RESERVED.iter().find(|r| bytes[i..].starts_with(r.as_bytes())) {
            i += r.len();
            continue;
        }
        if bytes[i] == b'(' {
            return &name[..i];
        }
        i += 1;
    }
    name
}

fn compile(src: &str) -> Result<regex::Regex, DecodeError> {
    regex::Regex::new(&format!("^({src})$")).map_err(|e| {
        // A syntax error spans lines (pattern, caret, "error: ..."); keep
        // the reason, so that every DecodeError displays as one line.
        let msg = e.to_string();
        let reason = match msg.lines().next_back().and_then(|l| l.strip_prefix("error: ")) {
            Some(r) => r.to_string(),
            None => msg.split_whitespace().collect::<Vec<_>>().join(" "),
        };
        DecodeError::whole(ErrorKind::BadRegex(reason))
    })
}

/// Applies the profile's drop/keep regexes to locations and stacks.
pub fn remove_uninteresting(p: &mut Profile) -> Result<(), DecodeError> {
    let drop = compile(p.str(p.drop_frames))?;
    let keep = if p.keep_frames != 0 { Some(compile(p.str(p.keep_frames))?) } else { None };

    // Keyed by name string id, not function: many functions sharing one
    // long name must not cost one regex match each.
    let mut cache: FxHashMap<u64, bool> = FxHashMap::default();
    let nloc = p.locations.len();
    let mut prune = vec![false; nloc];
    let mut beneath = vec![false; nloc];
    for (li, loc) in p.locations.iter_mut().enumerate() {
        let range = loc.lines();
        // Scan from the outermost line inward for the first prunable one.
        let mut hit = None;
        for i in range.clone().rev() {
            let f = p.lines[i].function as usize;
            let func = &p.functions[f];
            if func.name == 0 {
                continue;
            }
            let name = p.strings.get(func.name);
            let yes = *cache.entry(func.name).or_insert_with(|| {
                let s = simplify(name);
                drop.is_match(s) && !keep.as_ref().is_some_and(|k| k.is_match(s))
            });
            if yes {
                hit = Some(i);
                break;
            }
        }
        if let Some(i) = hit {
            beneath[li] = true;
            if i == range.end - 1 {
                prune[li] = true;
            } else {
                let skip = (i + 1 - range.start) as u32;
                loc.lines_start += skip;
                loc.lines_len -= skip;
            }
        }
    }

    // Rebuild the stacks: each keeps the part above the prune point.
    let mut stacks = Vec::with_capacity(p.stacks.len());
    let mut offsets = Vec::with_capacity(p.stack_offsets.len());
    offsets.push(0u32);
    for s in 0..p.num_samples() {
        let st = p.stack(s);
        let mut from = 0;
        let mut found_user = false;
        for i in (0..st.len()).rev() {
            let l = st[i] as usize;
            if !prune[l] && !beneath[l] {
                found_user = true;
                continue;
            }
            if !found_user {
                continue;
            }
            from = if prune[l] { i + 1 } else { i };
            break;
        }
        stacks.extend_from_slice(&st[from..]);
        offsets.push(stacks.len() as u32);
    }
    p.stacks = stacks;
    p.stack_offsets = offsets;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::simplify;

    #[test]
    fn simplify_like_pprof() {
        assert_eq!(simplify("runtime.mallocgc"), "runtime.mallocgc");
        assert_eq!(simplify("foo(int)"), "foo");
        assert_eq!(simplify(".foo(int)"), "foo");
        assert_eq!(simplify("(anonymous namespace)::f(int)"), "(anonymous namespace)::f");
        assert_eq!(simplify("a::operator()(x)"), "a::operator()");
    }
}
