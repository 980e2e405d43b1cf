//! Each study's `report.html`, opened in a real browser (headless Chromium over WebDriver):
//! every chart is there and has a size, the page loaded nothing from outside itself, and the
//! console shows no error. First the checks are shown to catch what they look for, on a probe
//! page that has a console error and an external image. Screenshots go to `$FAULTLINE_SHOTS`
//! (a folder) when it is set. The browser is the tests' one harness, `support::browser`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::browser::{self, Browser, file_url};

mod cli;

use cli::temp;

fn preset(study: &str, name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("presets").join(study).join(name).display().to_string()
}

/// Runs a study binary with `--out dir`.
fn report(bin: &str, args: &[String], dir: &Path) {
    let o = Command::new(bin).args(args).arg("--out").arg(dir).output().unwrap();
    assert!(o.status.success(), "{bin} {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    assert!(dir.join("report.html").is_file());
}

/// The `.svg` files beside a report, by name without the extension.
fn svgs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str().and_then(|n| n.strip_suffix(".svg")).map(str::to_string))
        .collect();
    names.sort();
    names
}

const CHARTS: &str = r#"
    return [...document.querySelectorAll('figure.chart')].map(f => {
        const s = f.querySelector('svg');
        const r = s ? s.getBoundingClientRect() : { width: 0, height: 0 };
        return { name: f.dataset.name, width: r.width, height: r.height,
                 paths: s ? s.querySelectorAll('path').length : 0,
                 texts: s ? s.querySelectorAll('text').length : 0 };
    });
"#;

#[test]
fn every_report_renders_in_chromium_with_its_charts_and_nothing_external_or_in_error() {
    assert!(browser::available(), "{}", browser::MISSING);
    let root = temp("pages");
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let pages = [
        ("metastable", env!("CARGO_BIN_EXE_metastable"), args(&[])),
        (
            "metastable-healthy",
            env!("CARGO_BIN_EXE_metastable"),
            args(&["--config", &preset("metastable", "constant-healthy.toml"), "--duration", "40s", "--window", "3s"]),
        ),
        (
            "metastable-outage",
            env!("CARGO_BIN_EXE_metastable"),
            args(&["--config", &preset("metastable", "outage-held.toml")]),
        ),
        ("cap", env!("CARGO_BIN_EXE_cap"), args(&["--config", &preset("cap", "partition-strong.toml")])),
        (
            "cap-wan",
            env!("CARGO_BIN_EXE_cap"),
            args(&["--config", &preset("cap", "latency-weak-wan.toml"), "--nemesis", "every=8s,for=3s,kinds=crash"]),
        ),
        ("crdt-partition", env!("CARGO_BIN_EXE_crdt"), args(&["--config", &preset("crdt", "partition.toml")])),
        ("csi-config", env!("CARGO_BIN_EXE_csi"), args(&["--scenario", "config", "--records", "500"])),
        ("csi-all", env!("CARGO_BIN_EXE_csi"), args(&["--records", "500"])),
    ];
    for (name, bin, args) in &pages {
        report(bin, args, &root.join(name));
    }
    let probe = root.join("probe.html");
    std::fs::write(
        &probe,
        "<!DOCTYPE html><html><body><img src=\"http://127.0.0.1:9/x.png\"><script>console.error('probe error')</script></body></html>",
    )
    .unwrap();
    let shots = std::env::var_os("FAULTLINE_SHOTS").map(PathBuf::from);

    let client = Browser::start();
    client.resize(1100, 900);

    // The checks catch what they look for.
    client.open(&file_url(&probe));
    let seen = client.external();
    assert!(seen.iter().any(|s| s.contains("127.0.0.1:9")), "the external image is caught: {seen:?}");
    let log = client.console();
    assert!(log.iter().any(|(level, m)| level == "SEVERE" && m.contains("probe error")), "{log:?}");

    for (name, _, _) in &pages {
        let dir = root.join(name);
        client.open(&file_url(&dir.join("report.html")));
        let charts = client.eval(CHARTS).as_array().cloned().unwrap_or_default();
        let names: Vec<String> = charts.iter().map(|c| c["name"].as_str().unwrap_or("").to_string()).collect();
        assert!(!names.is_empty(), "{name}: no chart on the page");
        assert_eq!(names, svgs(&dir), "{name}: every chart on the page, each also written as a .svg");
        for c in &charts {
            let (w, h) = (c["width"].as_f64().unwrap(), c["height"].as_f64().unwrap());
            assert!(w >= 600.0 && h >= 300.0, "{name}: chart {} is {w}x{h} px", c["name"]);
            assert!(c["paths"].as_u64().unwrap() >= 3, "{name}: chart {} draws no lines", c["name"]);
        }
        let outside = client.external();
        assert!(outside.is_empty(), "{name}: the page loaded or points at {outside:?}");
        let log = client.console();
        let bad: Vec<_> = log.iter().filter(|(level, _)| level == "SEVERE" || level == "WARNING").collect();
        assert!(bad.is_empty(), "{name}: console: {bad:?}");
        let experiments = client.count("details.experiment");
        assert!(experiments >= 3, "{name}: {experiments} experiments");
        // Open the first experiment, as a reader would: <details> needs no script.
        client.click("details.experiment summary");
        let open = client.eval("return document.querySelector('details.experiment').open;");
        assert_eq!(open, serde_json::json!(true), "{name}: the experiment did not open");
        if let Some(shots) = &shots {
            client.screenshot_page(1100, &shots.join(format!("{name}.png")));
        }
    }
    drop(client);
    std::fs::remove_dir_all(&root).unwrap();
}
