//! The README shows `examples/ping.rs` as the library example: this keeps the two the same, so
//! the README's code is code that CI compiles and runs.

#[test]
fn the_readme_library_example_is_examples_ping() {
    let example = include_str!("../examples/ping.rs");
    let readme = include_str!("../README.md");
    let code = &example[example.find("use std::error::Error;").expect("the example's first import")..];
    assert!(readme.contains(code), "README.md's library example differs from examples/ping.rs: copy it again");
}
