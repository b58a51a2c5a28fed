//! The URLs to fetch, and fetching them over HTTP or HTTPS with `ureq`
//! (rustls; the roots are Mozilla's, or the PEM bundle in `SSL_CERT_FILE`,
//! see [`crate::source::tls`]).

use std::io::{ErrorKind as IoKind, Read, Write};
use std::time::Duration;

/// The URLs one capture tick fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The heap profile, normally `BASE/debug/pprof/heap?gc=1`.
    pub heap: String,
    /// The goroutine profile (`BASE/debug/pprof/goroutine`), when asked for.
    pub goroutine: Option<String>,
    /// The Prometheus scrape, when asked for.
    pub metrics: Option<String>,
}

/// A URL split into its parts.
struct Parsed<'a> {
    /// `http://host:port` or `https://host:port`
    origin: String,
    path: &'a str,
    query: Option<&'a str>,
}

fn parse_url(url: &str) -> Result<Parsed<'_>, String> {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("http".to_string(), url),
    };
    match scheme.as_str() {
        "http" | "https" => {}
        s => return Err(format!("{url}: unsupported scheme {s:?}; give an http:// or https:// URL")),
    }
    let rest = rest.split('#').next().unwrap_or("");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_query) = rest.split_at(end);
    if authority.is_empty() {
        return Err(format!("{url}: no host in URL; give e.g. http://127.0.0.1:6060"));
    }
    if authority.contains('@') {
        return Err(format!("{url}: user names and passwords in the URL are not supported"));
    }
    let (path, query) = match path_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_query, None),
    };
    Ok(Parsed { origin: format!("{scheme}://{authority}"), path, query })
}

impl Endpoints {
    /// Works out the URLs from what the user gave.
    ///
    /// `url` is either a base (`http://127.0.0.1:9000`, optionally with a
    /// path prefix), to which `/debug/pprof/heap?gc=1` is appended, or the
    /// heap (or allocs) profile's own URL, used as is (with `gc=1` added when
    /// it has no query). A missing scheme means `http://`.
    ///
    /// `metrics`: `None` = no scrape; `Some(None)` = `BASE/metrics`;
    /// `Some(Some(p))` = `p` on the same host when it is a path (`/prom`),
    /// or `p` itself when it is a URL.
    pub fn from_url(url: &str, goroutines: bool, metrics: Option<Option<&str>>) -> Result<Endpoints, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("empty URL".into());
        }
        let u = parse_url(url)?;
        const PPROF: &str = "/debug/pprof/";
        let (base, heap) = if let Some(i) = u.path.find(PPROF) {
            let prefix = &u.path[..i];
            let profile = u.path[i + PPROF.len()..].trim_end_matches('/');
            let base = format!("{}{prefix}", u.origin);
            match profile {
                "" => (base.clone(), format!("{base}/debug/pprof/heap?gc=1")),
                "heap" | "allocs" => {
                    let q = match u.query {
                        Some(q) if !q.is_empty() => q.to_string(),
                        _ => "gc=1".to_string(),
                    };
                    (base, format!("{}{}?{q}", u.origin, u.path))
                }
                other => {
                    return Err(format!(
                    "{url}: this is the {other:?} profile; give the heap profile's URL or the base URL (e.g. {base})"
                ))
                }
            }
        } else {
            if u.query.is_some_and(|q| !q.is_empty()) {
                return Err(format!(
                    "{url}: a base URL takes no query; give e.g. {}{}/debug/pprof/heap?{} for a custom heap URL",
                    u.origin,
                    u.path.trim_end_matches('/'),
                    u.query.unwrap_or_default()
                ));
            }
            let base = format!("{}{}", u.origin, u.path.trim_end_matches('/'));
            (base.clone(), format!("{base}/debug/pprof/heap?gc=1"))
        };
        let goroutine = goroutines.then(|| format!("{base}/debug/pprof/goroutine"));
        let metrics = match metrics {
            None => None,
            Some(None) => Some(format!("{base}/metrics")),
            Some(Some(p)) if p.contains("://") => {
                let m = parse_url(p)?;
                Some(format!("{}{}{}", m.origin, m.path, m.query.map(|q| format!("?{q}")).unwrap_or_default()))
            }
            Some(Some(p)) if p.starts_with('/') => Some(format!("{}{p}", u.origin)),
            Some(Some(p)) => Some(format!("{}/{p}", u.origin)),
        };
        Ok(Endpoints { heap, goroutine, metrics })
    }
}

/// An HTTP response, whatever its status.
#[derive(Debug, Clone)]
pub struct Response {
    /// e.g. 200.
    pub status: u16,
    /// e.g. `OK`, `Service Unavailable`; may be empty.
    pub reason: String,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body: all of it from [`Fetch::get`]; from [`Fetch::get_into`],
    /// nothing for a 2xx response (it went to the sink) and the first
    /// [`MAX_ERROR_BODY`] bytes of any other.
    pub body: Vec<u8>,
}

/// A request that got no HTTP response.
#[derive(Debug, Clone)]
pub struct TransportError {
    /// What went wrong, for a person.
    pub message: String,
    /// Worth trying again (connection refused or reset, timeout, ...).
    pub transient: bool,
}

/// Something that can GET a URL. The real one is [`UreqFetcher`]; tests use fakes.
pub trait Fetch {
    /// Fetches `url`.
    fn get(&self, url: &str) -> Result<Response, TransportError>;

    /// Fetches `url`, writing a 2xx body to `sink` as it arrives instead
    /// of keeping it (`body` is then empty). When `sink` fails, reading
    /// stops there and the response is returned as it is: the sink knows
    /// why it failed. Other bodies are kept in `body`, at most
    /// [`MAX_ERROR_BODY`] bytes of them.
    ///
    /// The default writes what [`Fetch::get`] returned.
    fn get_into(&self, url: &str, sink: &mut dyn Write) -> Result<Response, TransportError> {
        let mut r = self.get(url)?;
        if (200..300).contains(&r.status) {
            let _ = sink.write_all(&r.body);
            r.body = Vec::new();
        }
        Ok(r)
    }
}

/// The most bytes kept of a non-2xx body (only its start is shown).
pub const MAX_ERROR_BODY: u64 = 64 * 1024;

/// Fetches with `ureq`: one agent (so connections are reused), a timeout
/// for the whole exchange, redirects followed, proxies from the usual
/// environment variables, and HTTP errors returned as responses.
pub struct UreqFetcher {
    agent: ureq::Agent,
}

/// The largest body [`Fetch::get`] reads into memory. `capture` uses
/// [`Fetch::get_into`], which streams, within `Limits::body_budget`.
const MAX_BODY: u64 = 1 << 30;

impl UreqFetcher {
    /// A fetcher whose every request must complete within `timeout`, with
    /// Mozilla's TLS roots.
    pub fn new(timeout: Duration) -> UreqFetcher {
        let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::WebPki).build();
        Self::build(timeout, tls)
    }

    /// A fetcher whose TLS roots are `ca_file`'s, else `$SSL_CERT_FILE`'s,
    /// else Mozilla's ([`crate::source::tls::config`]).
    pub fn with_tls(timeout: Duration, ca_file: Option<&std::path::Path>) -> Result<UreqFetcher, String> {
        Ok(Self::build(timeout, crate::source::tls::config(ca_file)?))
    }

    fn build(timeout: Duration, tls: ureq::tls::TlsConfig) -> UreqFetcher {
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("leakscope/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        UreqFetcher { agent }
    }
}

impl Fetch for UreqFetcher {
    fn get(&self, url: &str) -> Result<Response, TransportError> {
        let mut resp = self.agent.get(url).call().map_err(transport_error)?;
        let status = resp.status();
        let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = resp.body_mut().with_config().limit(MAX_BODY).read_to_vec().map_err(transport_error)?;
        Ok(Response {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_string(),
            content_type,
            body,
        })
    }

    fn get_into(&self, url: &str, sink: &mut dyn Write) -> Result<Response, TransportError> {
        let mut resp = self.agent.get(url).call().map_err(transport_error)?;
        let status = resp.status();
        let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut body = Vec::new();
        let mut reader = resp.body_mut().as_reader();
        let read_err = |e: std::io::Error| transport_error(ureq::Error::from(e));
        if status.is_success() {
            // Through a fixed buffer: the body is never held whole.
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == IoKind::Interrupted => continue,
                    Err(e) => return Err(read_err(e)),
                };
                if sink.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        } else {
            reader.take(MAX_ERROR_BODY).read_to_end(&mut body).map_err(read_err)?;
        }
        Ok(Response {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_string(),
            content_type,
            body,
        })
    }
}

fn transport_error(e: ureq::Error) -> TransportError {
    let (message, transient) = crate::source::net::transport_error(&e, "response");
    TransportError { message, transient }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(url: &str, g: bool, m: Option<Option<&str>>) -> Endpoints {
        Endpoints::from_url(url, g, m).unwrap()
    }

    #[test]
    fn base_urls() {
        let e = ep("http://127.0.0.1:9000", true, Some(None));
        assert_eq!(e.heap, "http://127.0.0.1:9000/debug/pprof/heap?gc=1");
        assert_eq!(e.goroutine.as_deref(), Some("http://127.0.0.1:9000/debug/pprof/goroutine"));
        assert_eq!(e.metrics.as_deref(), Some("http://127.0.0.1:9000/metrics"));
        let e = ep("127.0.0.1:9000/", false, None);
        assert_eq!(e.heap, "http://127.0.0.1:9000/debug/pprof/heap?gc=1");
        assert_eq!(e.goroutine, None);
        assert_eq!(e.metrics, None);
        let e = ep("HTTP://localhost:8080/admin/", true, Some(Some("/prom")));
        assert_eq!(e.heap, "http://localhost:8080/admin/debug/pprof/heap?gc=1");
        assert_eq!(e.goroutine.as_deref(), Some("http://localhost:8080/admin/debug/pprof/goroutine"));
        assert_eq!(e.metrics.as_deref(), Some("http://localhost:8080/prom"));
        let e = ep("http://h:1", false, Some(Some("http://h:2/metrics?x=1")));
        assert_eq!(e.metrics.as_deref(), Some("http://h:2/metrics?x=1"));
        let e = ep("http://h:1", false, Some(Some("stats")));
        assert_eq!(e.metrics.as_deref(), Some("http://h:1/stats"));
    }

    #[test]
    fn https_urls() {
        let e = ep("https://traefik.example:9000", true, Some(None));
        assert_eq!(e.heap, "https://traefik.example:9000/debug/pprof/heap?gc=1");
        assert_eq!(e.metrics.as_deref(), Some("https://traefik.example:9000/metrics"));
        let e = ep("HTTPS://h:1/debug/pprof/heap", false, Some(Some("/prom")));
        assert_eq!(e.heap, "https://h:1/debug/pprof/heap?gc=1");
        assert_eq!(e.metrics.as_deref(), Some("https://h:1/prom"));
    }

    #[test]
    fn full_urls() {
        let e = ep("http://127.0.0.1:6060/debug/pprof/heap", true, Some(None));
        assert_eq!(e.heap, "http://127.0.0.1:6060/debug/pprof/heap?gc=1");
        assert_eq!(e.goroutine.as_deref(), Some("http://127.0.0.1:6060/debug/pprof/goroutine"));
        assert_eq!(e.metrics.as_deref(), Some("http://127.0.0.1:6060/metrics"));
        let e = ep("http://127.0.0.1:6060/debug/pprof/heap?gc=1&debug=0", false, None);
        assert_eq!(e.heap, "http://127.0.0.1:6060/debug/pprof/heap?gc=1&debug=0");
        let e = ep("http://127.0.0.1:6060/debug/pprof/heap?", false, None);
        assert_eq!(e.heap, "http://127.0.0.1:6060/debug/pprof/heap?gc=1");
        let e = ep("http://127.0.0.1:6060/x/debug/pprof/allocs#frag", true, None);
        assert_eq!(e.heap, "http://127.0.0.1:6060/x/debug/pprof/allocs?gc=1");
        assert_eq!(e.goroutine.as_deref(), Some("http://127.0.0.1:6060/x/debug/pprof/goroutine"));
        let e = ep("http://127.0.0.1:6060/debug/pprof/", false, None);
        assert_eq!(e.heap, "http://127.0.0.1:6060/debug/pprof/heap?gc=1");
    }

    #[test]
    fn bad_urls() {
        let err = |u: &str| Endpoints::from_url(u, false, None).unwrap_err();
        assert!(err("ftp://h:1").contains("unsupported scheme"));
        assert!(err("http:///debug").contains("no host"));
        assert!(err("").contains("empty"));
        assert!(err("http://h:1/debug/pprof/goroutine").contains("\"goroutine\" profile"));
        assert!(err("http://h:1/?gc=1").contains("takes no query"));
        assert!(err("http://u:p@h:1").contains("passwords"));
    }
}
