//! Compiles `proto/profile.proto` into prost types at build time.
//!
//! protox is a pure-Rust protobuf compiler, so no system `protoc` is needed
//! on a developer's machine or in CI.

fn main() {
    println!("cargo:rerun-if-changed=proto/profile.proto");
    let fds = protox::compile(["proto/profile.proto"], ["proto"]).expect("compile proto/profile.proto");
    prost_build::Config::new().compile_fds(fds).expect("generate prost types from proto/profile.proto");
}
