//! The README's command blocks, read the way a newcomer pastes them: each `sh` block's lines,
//! with the section they are in, split into words; and the study binaries of this build that
//! stand in for `cargo run --release --bin NAME --`.

#![allow(dead_code)]

/// One line of a `sh` block.
#[derive(Clone, Debug)]
pub struct Line {
    /// The `## ` heading above it.
    pub section: String,
    /// The line, without its comment.
    pub text: String,
}

/// Every non-empty line of every `sh` block, comments (` # ...`) removed.
pub fn lines() -> Vec<Line> {
    let readme = include_str!("../../../README.md");
    let (mut out, mut section, mut in_block) = (Vec::new(), String::new(), false);
    for l in readme.lines() {
        if let Some(h) = l.strip_prefix("## ") {
            section = h.to_string();
        } else if l.starts_with("```") {
            in_block = !in_block && l == "```sh";
        } else if in_block {
            let text = l.find(" #").map_or(l, |i| &l[..i]).trim_end();
            if !text.trim().is_empty() {
                out.push(Line { section: section.clone(), text: text.to_string() });
            }
        }
    }
    out
}

/// The lines of the first `sh` block of the section headed `heading`.
pub fn first_block(heading: &str) -> Vec<String> {
    let readme = include_str!("../../../README.md");
    let at = readme.find(&format!("\n## {heading}\n")).unwrap_or_else(|| panic!("a {heading} section"));
    let block = &readme[at..];
    let block = &block[block.find("```sh\n").expect("a command block") + 6..];
    block[..block.find("```").unwrap()].lines().map(str::to_string).filter(|l| !l.trim().is_empty()).collect()
}

/// Splits a command line into words, with double quotes.
pub fn words(line: &str) -> Vec<String> {
    let (mut out, mut word, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// The binary `cargo run --release --bin name` runs: in `FAULTLINE_BIN_DIR` when it is set
/// (`.ci/run` builds the release binaries first and sets it, so that the README's sweeps take
/// seconds), else this test build's own.
pub fn bin(name: &str) -> String {
    match std::env::var_os("FAULTLINE_BIN_DIR") {
        Some(dir) => std::path::Path::new(&dir).join(name).display().to_string(),
        None => test_bin(name).to_string(),
    }
}

fn test_bin(name: &str) -> &'static str {
    match name {
        "metastable" => env!("CARGO_BIN_EXE_metastable"),
        "cap" => env!("CARGO_BIN_EXE_cap"),
        "crdt" => env!("CARGO_BIN_EXE_crdt"),
        "csi" => env!("CARGO_BIN_EXE_csi"),
        "netbench" => env!("CARGO_BIN_EXE_netbench"),
        "faultline" => env!("CARGO_BIN_EXE_faultline"),
        other => panic!("the README runs an unknown binary '{other}'"),
    }
}

/// `cargo run --release --bin NAME -- ARGS`: the binary's name and its arguments; `None` for
/// any other command.
pub fn cargo_run(words: &[String]) -> Option<(&str, &[String])> {
    if words.len() < 5 || words[..4] != ["cargo", "run", "--release", "--bin"] {
        return None;
    }
    let args = match words.get(5).map(String::as_str) {
        Some("--") => &words[6..],
        None => &words[5..],
        Some(other) => panic!("after --bin NAME the README must write '--', not '{other}'"),
    };
    Some((&words[4], args))
}
