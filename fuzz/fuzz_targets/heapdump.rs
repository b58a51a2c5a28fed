//! Arbitrary bytes (after the `go1.7 heap dump\n` header, added when
//! missing) into `leakscope::heapdump::parse::parse`; a dump that parses
//! goes through the analysis, the Leak Suspects report and its renderers,
//! and the pprof export. A parse error must be one line naming its byte
//! offset. Inputs over 64 KiB are skipped so that iterations stay fast.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod heapdump_exercise;

fuzz_target!(|data: &[u8]| {
    if data.len() > 64 << 10 {
        return;
    }
    let _ = heapdump_exercise::exercise(&heapdump_exercise::with_header(data));
});
