//! prost types of the Pyroscope querier messages leakscope uses, generated
//! at build time from the trimmed copies in `proto/pyroscope/` (see their
//! headers for origin and license).

#![allow(missing_docs, clippy::all, rustdoc::invalid_html_tags)]

/// `types.v1`: labels, series, points, profile types.
pub mod types {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/types.v1.rs"));
    }
}

/// `querier.v1`: the requests and responses of `QuerierService`.
pub mod querier {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/querier.v1.rs"));
    }
}
