//! What a failed HTTP request means, for the HTTP clients (`capture`,
//! Pyroscope): one line to show, and whether trying again may help.

use std::io::ErrorKind as IoKind;

/// `s` on one line, its runs of white space (newlines included) as one
/// space.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A ureq transport error as a lower-case message and whether it is
/// transient (worth a retry: refused, reset, timed out, …). `reply` is the
/// word for the server's reply in the messages (`response`, `answer`).
pub(crate) fn transport_error(e: &ureq::Error, reply: &str) -> (String, bool) {
    use ureq::Error as E;
    match e {
        E::Io(io) => {
            let transient = matches!(
                io.kind(),
                IoKind::ConnectionRefused
                    | IoKind::ConnectionReset
                    | IoKind::ConnectionAborted
                    | IoKind::NotConnected
                    | IoKind::BrokenPipe
                    | IoKind::TimedOut
                    | IoKind::Interrupted
                    | IoKind::UnexpectedEof
                    | IoKind::WouldBlock
                    | IoKind::AddrNotAvailable
                    | IoKind::HostUnreachable
                    | IoKind::NetworkUnreachable
                    | IoKind::NetworkDown
            );
            let s = io.to_string();
            let s = match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            };
            (s.to_lowercase(), transient)
        }
        E::Timeout(t) => (format!("timed out ({t})"), true),
        E::HostNotFound => ("host not found".to_string(), true),
        E::ConnectionFailed => ("connection failed".to_string(), true),
        E::Protocol(p) => (format!("bad HTTP {reply}: {p}"), true),
        E::BodyExceedsLimit(n) => (format!("{reply} larger than {n} bytes"), false),
        E::BadUri(u) => (format!("bad URL: {u}"), false),
        E::TooManyRedirects => ("too many redirects".to_string(), false),
        E::Tls(t) => (format!("TLS: {t}"), false),
        other => (one_line(&other.to_string()), false),
    }
}
