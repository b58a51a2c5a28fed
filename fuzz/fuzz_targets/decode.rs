//! Arbitrary bytes into `leakscope::pprof::parse` (raw protobuf, gzip, and
//! the formats that are sniffed and refused). A decoded profile is checked
//! and aggregated at every granularity; an error must be one line.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod invariants;

fuzz_target!(|data: &[u8]| {
    invariants::exercise(data);
});
