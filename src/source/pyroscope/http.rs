//! The Connect protocol's unary calls over HTTP/1.1 with `ureq`: `POST
//! BASE/querier.v1.QuerierService/METHOD`, `Content-Type:
//! application/proto`, the request message as the body. A 200 answer holds
//! the response message; an error status holds a JSON `{code, message}`.
//! (connectrpc.com/docs/protocol, "Unary-Request" and "Error end-stream".)

use std::time::Duration;

use super::Error;
use crate::source::net::{one_line, transport_error};

/// How to reach a Pyroscope server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Base URL: `http(s)://[user:password@]host[:port][/prefix]`; a
    /// missing scheme means `http://`.
    pub url: String,
    /// Extra request headers (`--header K:V`).
    pub headers: Vec<(String, String)>,
    /// `X-Scope-OrgID` (`--tenant`).
    pub tenant: Option<String>,
    /// Basic auth, when the URL carries none (from
    /// `LEAKSCOPE_PYROSCOPE_USER` / `LEAKSCOPE_PYROSCOPE_PASSWORD`).
    pub basic_auth: Option<(String, String)>,
    /// Time limit of one request, including reading the answer.
    pub timeout: Duration,
    /// Retries of a request that failed in a way worth retrying
    /// (connection refused or reset, timeout, 429, a 5xx other than 501).
    pub retries: u32,
    /// Requests in flight at once.
    pub jobs: usize,
    /// PEM bundle of TLS roots (`--ca-cert`); else `$SSL_CERT_FILE`, else
    /// Mozilla's roots.
    pub ca_cert: Option<std::path::PathBuf>,
}

impl Config {
    /// A configuration with the defaults: 60 s timeout, 3 retries, 4 jobs,
    /// no headers, no tenant, basic auth from the environment.
    pub fn new(url: &str) -> Config {
        let user = std::env::var("LEAKSCOPE_PYROSCOPE_USER").ok().filter(|u| !u.is_empty());
        let password = std::env::var("LEAKSCOPE_PYROSCOPE_PASSWORD").ok().unwrap_or_default();
        Config {
            url: url.to_string(),
            headers: Vec::new(),
            tenant: None,
            basic_auth: user.map(|u| (u, password)),
            timeout: Duration::from_secs(60),
            retries: 3,
            jobs: 4,
            ca_cert: None,
        }
    }
}

/// Parses `--header` values: `Name: value` or `Name:value`.
pub fn parse_header(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once(':').ok_or_else(|| format!("--header {s:?}: expected NAME:VALUE"))?;
    let k = k.trim();
    if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b)) {
        return Err(format!("--header {s:?}: {k:?} is not a header name"));
    }
    let v = v.trim();
    if v.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(format!("--header {k}: the value has a line break"));
    }
    Ok((k.to_string(), v.to_string()))
}

/// The parts of a base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    /// `scheme://host[:port][/prefix]`, no credentials, no trailing slash.
    pub base: String,
    /// `user:password@` from the URL, percent-decoded.
    pub userinfo: Option<(String, String)>,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses the base URL: http or https, an optional path prefix (a
/// Pyroscope behind a reverse proxy), no query.
pub(crate) fn parse_base(url: &str) -> Result<BaseUrl, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("--pyroscope: empty URL".into());
    }
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("http".to_string(), url),
    };
    if scheme != "http" && scheme != "https" {
        return Err(format!("--pyroscope {url}: unsupported scheme {scheme:?}; give an http:// or https:// URL"));
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if path.contains(['?', '#']) {
        return Err(format!("--pyroscope {url}: the base URL takes no query or fragment"));
    }
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((ui, h)) => {
            let (u, p) = ui.split_once(':').unwrap_or((ui, ""));
            (Some((percent_decode(u), percent_decode(p))), h)
        }
        None => (None, authority),
    };
    if host.is_empty() {
        return Err(format!("--pyroscope {}: no host in the URL; give e.g. http://pyroscope:4040", redact(url)));
    }
    Ok(BaseUrl { base: format!("{scheme}://{host}{}", path.trim_end_matches('/')), userinfo })
}

/// `url` without `user:password@`, for messages.
pub(crate) fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((s, r)) => {
            let end = r.find(['/', '?', '#']).unwrap_or(r.len());
            match r[..end].rsplit_once('@') {
                Some((_, host)) => format!("{s}://{host}{}", &r[end..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

/// Standard base64 of `b`, for the Basic authorization header.
fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The largest answer read: a merged profile of a big fleet can be large.
const MAX_BODY: u64 = 2 << 30;

/// A Connect client for one server.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    agent: ureq::Agent,
    /// Base URL without credentials.
    pub base: String,
    headers: Vec<(String, String)>,
    retries: u32,
}

/// One failed attempt.
enum Attempt {
    /// Worth another try.
    Retry(Error),
    /// Final.
    Fail(Error),
}

impl Transport {
    pub(crate) fn new(c: &Config) -> Result<Transport, String> {
        let u = parse_base(&c.url)?;
        let mut headers = vec![
            ("Content-Type".to_string(), "application/proto".to_string()),
            ("Connect-Protocol-Version".to_string(), "1".to_string()),
        ];
        let has_auth = c.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
        if !has_auth {
            if let Some((user, pass)) = u.userinfo.clone().or_else(|| c.basic_auth.clone()) {
                headers
                    .push(("Authorization".into(), format!("Basic {}", base64(format!("{user}:{pass}").as_bytes()))));
            }
        }
        if let Some(t) = &c.tenant {
            headers.push(("X-Scope-OrgID".into(), t.clone()));
        }
        headers.extend(c.headers.iter().cloned());
        let tls = crate::source::tls::config(c.ca_cert.as_deref())?;
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .timeout_global(Some(c.timeout))
            .http_status_as_error(false)
            .max_idle_connections_per_host(c.jobs.max(1) + 1)
            .max_idle_connections(c.jobs.max(1) * 2 + 2)
            .user_agent(concat!("leakscope/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(Transport { agent, base: u.base, headers, retries: c.retries })
    }

    /// Calls `querier.v1.QuerierService/{method}` with `req`, retrying with
    /// exponential backoff; returns the response message's bytes.
    pub(crate) fn call(&self, method: &str, req: &impl prost::Message) -> Result<Vec<u8>, Error> {
        let body = req.encode_to_vec();
        let path = format!("/querier.v1.QuerierService/{method}");
        let mut attempt = 0u32;
        loop {
            match self.once(&path, method, &body) {
                Ok(b) => return Ok(b),
                Err(Attempt::Fail(e)) => return Err(e),
                Err(Attempt::Retry(e)) => {
                    if attempt >= self.retries {
                        return Err(e);
                    }
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
            }
        }
    }

    fn once(&self, path: &str, method: &str, body: &[u8]) -> Result<Vec<u8>, Attempt> {
        let url = format!("{}{path}", self.base);
        let mut rb = self.agent.post(&url);
        for (k, v) in &self.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        let unreachable = |message: String| Error::Unreachable { url: self.base.clone(), message };
        let mut resp = match rb.send(body) {
            Ok(r) => r,
            Err(e) => {
                let (message, transient) = transport_error(&e, "answer");
                let err = unreachable(message);
                return Err(if transient { Attempt::Retry(err) } else { Attempt::Fail(err) });
            }
        };
        let status = resp.status();
        let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let body = resp.body_mut().with_config().limit(MAX_BODY).read_to_vec().map_err(|e| {
            let (message, transient) = transport_error(&e, "answer");
            let err = unreachable(format!("reading the answer to {method}: {message}"));
            if transient {
                Attempt::Retry(err)
            } else {
                Attempt::Fail(err)
            }
        })?;
        let status_text = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("")).trim().to_string();
        if status.is_success() {
            let ct = ctype.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if ct != "application/proto" && ct != "application/protobuf" && ct != "application/x-protobuf" {
                let ct = if ct.is_empty() { "no Content-Type".to_string() } else { format!("Content-Type {ct}") };
                return Err(Attempt::Fail(Error::BadResponse {
                    url: self.base.clone(),
                    path: path.to_string(),
                    what: format!("{status_text} with {ct}, not a Connect protobuf message"),
                }));
            }
            return Ok(body);
        }
        let (code, message) = connect_error(&body);
        let message = match (&code, message) {
            (_, Some(m)) => m,
            (_, None) => {
                let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                one_line(&text)
            }
        };
        let e = match status.as_u16() {
            401 | 403 => Error::Auth { url: self.base.clone(), status: status_text, message },
            404 | 405 if code.is_none() => {
                Error::NotFound { url: self.base.clone(), path: path.to_string(), status: status_text }
            }
            _ => Error::Server {
                url: self.base.clone(),
                method: method.to_string(),
                status: status_text,
                message: match &code {
                    Some(c) if !message.is_empty() => format!("{c}: {message}"),
                    Some(c) => c.clone(),
                    None => message,
                },
            },
        };
        // Every call is a read-only query, so a server-side failure is safe
        // to retry: Pyroscope answers 500 `unknown: canceled: stream error`
        // now and then under concurrent queries.
        let retry = status.as_u16() == 429
            || (status.is_server_error() && status.as_u16() != 501)
            || matches!(code.as_deref(), Some("unavailable" | "resource_exhausted" | "aborted"));
        Err(if retry { Attempt::Retry(e) } else { Attempt::Fail(e) })
    }
}

/// Backoff before retry `attempt` (0-based): 250 ms doubling, capped at
/// 8 s, with up to 25% jitter so parallel requests do not retry in step.
fn backoff(attempt: u32) -> Duration {
    let base = 250u64.saturating_mul(1 << attempt.min(5)).min(8000);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let jitter = u64::from(nanos) % (base / 4 + 1);
    Duration::from_millis(base + jitter)
}

/// The `code` and `message` of a Connect error body. Pyroscope sometimes
/// wraps a whole Connect error JSON inside `message`: unwrap it.
pub(crate) fn connect_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else { return (None, None) };
    let code = v.get("code").and_then(|c| c.as_str()).map(str::to_string);
    let mut message = v.get("message").and_then(|m| m.as_str()).map(str::to_string);
    for _ in 0..4 {
        let Some(m) = &message else { break };
        match serde_json::from_str::<serde_json::Value>(m) {
            Ok(inner) if inner.get("message").is_some_and(|x| x.is_string()) => {
                message = inner.get("message").and_then(|x| x.as_str()).map(str::to_string);
            }
            _ => break,
        }
    }
    (code, message.map(|m| one_line(&m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let b = parse_base("http://127.0.0.1:4040/").unwrap();
        assert_eq!(b.base, "http://127.0.0.1:4040");
        assert_eq!(b.userinfo, None);
        let b = parse_base("HTTPS://u%40x:p%3Aw@profiles.example.net/pyroscope/").unwrap();
        assert_eq!(b.base, "https://profiles.example.net/pyroscope");
        assert_eq!(b.userinfo, Some(("u@x".to_string(), "p:w".to_string())));
        assert_eq!(parse_base("pyroscope:4040").unwrap().base, "http://pyroscope:4040");
        assert!(parse_base("ftp://x").is_err());
        assert!(parse_base("http://x/?a=1").is_err());
        assert!(parse_base("http://u:p@/x").unwrap_err().contains("http:///x"));
        assert!(parse_base("").is_err());
        assert_eq!(redact("https://u:p@h:1/x"), "https://h:1/x");
    }

    #[test]
    fn headers_and_auth() {
        assert_eq!(parse_header("X-Scope-OrgID: 42").unwrap(), ("X-Scope-OrgID".into(), "42".into()));
        assert_eq!(parse_header("A:b:c").unwrap(), ("A".into(), "b:c".into()));
        assert!(parse_header("nocolon").is_err());
        assert!(parse_header("bad name: x").is_err());
        assert_eq!(base64(b"Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b""), "");
    }

    #[test]
    fn connect_errors() {
        let body = br#"{"code":"invalid_argument","message":"{\"code\":\"invalid_argument\",\"message\":\"1:15: parse error: unexpected identifier \\\"app\\\"\"}"}"#;
        let (c, m) = connect_error(body);
        assert_eq!(c.as_deref(), Some("invalid_argument"));
        assert_eq!(m.as_deref(), Some("1:15: parse error: unexpected identifier \"app\""));
        assert_eq!(connect_error(b"404 page not found\n"), (None, None));
        assert!(percent_decode("%zz%4").contains("%zz"));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(0) >= Duration::from_millis(250) && backoff(0) < Duration::from_millis(400));
        assert!(backoff(3) >= Duration::from_millis(2000));
        assert!(backoff(30) <= Duration::from_millis(10_000));
    }
}
