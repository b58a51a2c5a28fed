//! Compiles the protobuf schemas into prost types at build time:
//! `proto/profile.proto` (pprof) and the few Pyroscope querier messages
//! under `proto/pyroscope/` (see the headers there for their origin).
//!
//! protox is a pure-Rust protobuf compiler, so no system `protoc` is needed
//! on a developer's machine or in CI.

fn main() {
    println!("cargo:rerun-if-changed=proto/profile.proto");
    let fds = protox::compile(["proto/profile.proto"], ["proto"]).expect("compile proto/profile.proto");
    prost_build::Config::new().compile_fds(fds).expect("generate prost types from proto/profile.proto");

    println!("cargo:rerun-if-changed=proto/pyroscope");
    let fds = protox::compile(["querier.proto"], ["proto/pyroscope"]).expect("compile proto/pyroscope/querier.proto");
    prost_build::Config::new().compile_fds(fds).expect("generate prost types from proto/pyroscope");
}
