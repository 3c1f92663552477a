//! The link flags the Go module of the engine passes with the static library (`#cgo LDFLAGS` in
//! `go-processor/platform/linux-amd64/link.go`) are the native libraries rustc says the
//! library needs, as rustls-ffi checks its own (`librustls/tests/static_libs.rs`): a dependency
//! or toolchain that adds one fails here, not at a user's link step.

mod common;

use std::process::Command;

/// The module of the platform the tests run on.
const LINK: &str = "go-processor/platform/linux-amd64/link.go";

/// The libraries after the archive on the module's `#cgo LDFLAGS:` line.
fn binding_flags() -> Vec<String> {
    let text = std::fs::read_to_string(common::repo_root().join(LINK)).unwrap();
    let line = text.lines().find(|l| l.starts_with("#cgo LDFLAGS:")).expect("link.go has #cgo LDFLAGS");
    let flags: Vec<String> = line["#cgo LDFLAGS:".len()..].split_whitespace().map(str::to_string).collect();
    assert!(flags[0].ends_with("/libresourceequality.a"), "the archive comes first: {line}");
    flags[1..].to_vec()
}

/// What rustc prints for the library as a staticlib (`--print native-static-libs`), built in a
/// target directory of its own so that the tests' build is left alone.
fn rustc_flags() -> Vec<String> {
    let target = common::repo_root().join("target/native-static-libs");
    let out = Command::new(env!("CARGO"))
        .args(["rustc", "--quiet", "--locked", "--lib", "-p", "resourceequality", "--crate-type", "staticlib"])
        .arg("--target-dir")
        .arg(&target)
        .args(["--", "--print", "native-static-libs"])
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cargo rustc failed:\n{stderr}");
    let line = stderr
        .lines()
        .find_map(|l| l.split("native-static-libs: ").nth(1))
        .unwrap_or_else(|| panic!("rustc printed no native-static-libs:\n{stderr}"));
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn the_go_binding_links_what_rustc_says_the_library_needs() {
    assert_eq!(binding_flags(), rustc_flags(), "update #cgo LDFLAGS in {LINK}");
}
