//! Label selectors: `{service_name="traefik", namespace=~"kube-.*"}`.
//!
//! leakscope does not parse the user's selector (Pyroscope does, and its
//! error message is quoted back); it only checks the braces and adds
//! equality matchers to narrow a query to one series.

/// Checks that `q` looks like a selector: `{…}` with balanced quotes.
pub fn check(q: &str) -> Result<(), String> {
    let t = q.trim();
    if !(t.starts_with('{') && t.ends_with('}')) {
        return Err(format!(
            "--query {q:?} is not a label selector; give e.g. '{{service_name=\"traefik\"}}' (the braces are required)"
        ));
    }
    Ok(())
}

/// Quotes a label value for a selector, as PromQL string literals are.
pub fn quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `q` with `name="value"` matchers added for `labels`. A label that the
/// series lacks has the value `""`, which matches exactly the series
/// without it.
pub fn with_labels(q: &str, labels: &[(String, String)]) -> String {
    let t = q.trim();
    let inner = t.strip_prefix('{').and_then(|r| r.strip_suffix('}')).unwrap_or(t).trim();
    let inner = inner.trim_end_matches(',').trim_end();
    let mut out = String::from("{");
    out.push_str(inner);
    for (k, v) in labels {
        if out.len() > 1 {
            out.push_str(", ");
        }
        out.push_str(k);
        out.push('=');
        out.push_str(&quote(v));
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_matchers() {
        let l = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(with_labels("{service_name=\"a\"}", &[l("pod", "p-1")]), "{service_name=\"a\", pod=\"p-1\"}");
        assert_eq!(with_labels(" { } ", &[l("pod", "x")]), "{pod=\"x\"}");
        assert_eq!(with_labels("{a=\"1\",}", &[l("b", "q\"\\")]), "{a=\"1\", b=\"q\\\"\\\\\"}");
        assert_eq!(with_labels("{a=\"1\"}", &[]), "{a=\"1\"}");
        assert!(check("{a=\"1\"}").is_ok());
        assert!(check("service_name=a").is_err());
    }
}
