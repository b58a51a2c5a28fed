//! Go's `path/filepath.Clean` on Unix, which pprof applies to file names
//! before using them as node keys.

/// Returns the shortest path equivalent to `p` by purely lexical
/// processing, exactly as Go's `filepath.Clean` does on Unix.
pub fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if matches!(out.last(), Some(&l) if l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn like_go() {
        for (i, o) in [
            ("", "."),
            ("/", "/"),
            ("a/b/../c", "a/c"),
            ("/../a", "/a"),
            ("../../a", "../../a"),
            ("a//b/./c/", "a/b/c"),
            ("/usr/local/go/src/runtime/malloc.go", "/usr/local/go/src/runtime/malloc.go"),
            ("C:\\Go\\src\\x.go", "C:\\Go\\src\\x.go"),
            ("a/../..", ".."),
        ] {
            assert_eq!(clean(i), o, "clean({i:?})");
        }
    }
}
