//! What can go wrong talking to Pyroscope, each as one line naming the
//! server (never its credentials).

/// An error from a Pyroscope server or on the way to it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No HTTP answer, after the retries: refused, reset, timed out, DNS.
    #[error("cannot reach Pyroscope at {url}: {message}")]
    Unreachable {
        /// The server's base URL.
        url: String,
        /// What failed, for a person.
        message: String,
    },
    /// 401 or 403.
    #[error(
        "Pyroscope at {url} refused access ({status}{}): set LEAKSCOPE_PYROSCOPE_USER and LEAKSCOPE_PYROSCOPE_PASSWORD \
         (or user:password@ in the URL), --header 'Authorization: …', and --tenant for a multi-tenant install",
        if message.is_empty() { String::new() } else { format!(": {message}") }
    )]
    Auth {
        /// The server's base URL.
        url: String,
        /// `401 Unauthorized` or `403 Forbidden`.
        status: String,
        /// The server's message, if any.
        message: String,
    },
    /// 404 (or 405) on a querier path: the URL is not a Pyroscope ≥ 1.0 API.
    #[error(
        "{url}{path} answered {status}: not a Pyroscope >= 1.0 API; give the server's base URL \
         (e.g. http://pyroscope:4040, or the Grafana Cloud profiles URL)"
    )]
    NotFound {
        /// The base URL.
        url: String,
        /// The path asked for.
        path: String,
        /// `404 Not Found` or `405 Method Not Allowed`.
        status: String,
    },
    /// A 2xx answer that is not a Connect protobuf message.
    #[error("{url}{path} did not answer like a Pyroscope >= 1.0 API: {what}")]
    BadResponse {
        /// The base URL.
        url: String,
        /// The path asked for.
        path: String,
        /// What was wrong with it.
        what: String,
    },
    /// Pyroscope rejected the label selector (its message is quoted).
    #[error("Pyroscope at {url} rejected the query {query}: {message}")]
    BadSelector {
        /// The base URL.
        url: String,
        /// The selector.
        query: String,
        /// Pyroscope's message.
        message: String,
    },
    /// Any other error status.
    #[error("Pyroscope at {url} answered {status} to {method}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Server {
        /// The base URL.
        url: String,
        /// The call.
        method: String,
        /// e.g. `500 Internal Server Error`.
        status: String,
        /// Connect code and message, if any.
        message: String,
    },
    /// Nothing matched the selector in the time range.
    #[error("{0}")]
    NoSeries(String),
    /// A window has no data (a gap, not a zero).
    #[error("{0}")]
    NoData(String),
    /// A merged profile could not be decoded.
    #[error("Pyroscope at {url}: the merged profile of {what} is not a valid profile: {message}")]
    Decode {
        /// The base URL.
        url: String,
        /// Which query and window.
        what: String,
        /// The decoder's message.
        message: String,
    },
    /// Another request failed first; this one was not sent.
    #[error("cancelled")]
    Cancelled,
}

impl Error {
    /// Whether this is [`Error::Cancelled`] (skipped because another
    /// request failed first).
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Error::Cancelled)
    }
}
