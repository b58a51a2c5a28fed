//! TLS trust for the HTTP clients (`capture`, Pyroscope): which root
//! certificates verify a server.
//!
//! By default, Mozilla's roots (webpki-roots, built in). A PEM bundle
//! replaces them when given (`--ca-cert FILE`), or when the environment
//! names one in `SSL_CERT_FILE`, as OpenSSL and curl read it: that is how
//! a private CA, or a TLS-intercepting proxy's, is trusted.

use std::path::Path;
use std::sync::Arc;

use ureq::tls::{parse_pem, PemItem, RootCerts, TlsConfig};

/// The TLS configuration for a client: roots from `ca_file`, else from
/// `$SSL_CERT_FILE`, else Mozilla's.
pub fn config(ca_file: Option<&Path>) -> Result<TlsConfig, String> {
    let from_env = std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty());
    let (path, what) = match (ca_file, &from_env) {
        (Some(p), _) => (p.to_path_buf(), "--ca-cert"),
        (None, Some(p)) => (std::path::PathBuf::from(p), "SSL_CERT_FILE"),
        (None, None) => return Ok(TlsConfig::builder().root_certs(RootCerts::WebPki).build()),
    };
    let pem = std::fs::read(&path).map_err(|e| format!("{what} {}: {}", path.display(), io_msg(&e)))?;
    let certs: Vec<_> = parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(format!("{what} {}: no PEM certificate in it", path.display()));
    }
    Ok(TlsConfig::builder().root_certs(RootCerts::Specific(Arc::new(certs))).build())
}

fn io_msg(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_lowercase(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_bundles_are_one_line_errors() {
        let e = config(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(e.starts_with("--ca-cert /nonexistent/ca.pem: "), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty.pem");
        std::fs::write(&p, "not a certificate\n").unwrap();
        assert!(config(Some(&p)).unwrap_err().contains("no PEM certificate"));
    }
}
