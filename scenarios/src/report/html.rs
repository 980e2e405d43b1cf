//! The HTML report of one run: one self-contained page (inline CSS, inline SVG, no script, no
//! network; a Content-Security-Policy forbids loading anything) with the parameters, the
//! verdict, the charts, the tables, what the reader is seeing, experiments to try (expandable
//! `<details>`, which need no script), the faults that ran and the terminal report.
//!
//! [`body`] is the page's content alone, for a server that wraps it in its own page
//! (`faultline serve`); [`page`] is the whole document `--out` writes. Both come from [`Page`],
//! which knows nothing of any study.

use std::fmt::Write as _;

/// A chart of the report, also written beside it as `NAME.svg`.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// The file name without `.svg` (`chart`).
    pub name: String,
    /// A heading for it.
    pub title: String,
    /// One or two sentences on how to read it.
    pub caption: String,
    /// The SVG document.
    pub svg: String,
}

/// A table of the report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// A heading for it.
    pub title: String,
    /// Column names.
    pub header: Vec<String>,
    /// Rows of cells, as many as the header.
    pub rows: Vec<Vec<String>>,
}

/// Everything one run's page shows, already in words and numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    /// The study's name (`metastable`).
    pub study: String,
    /// The question it answers.
    pub about: String,
    /// One line that says what ran.
    pub describe: String,
    /// Every parameter: name and value.
    pub params: Vec<(String, String)>,
    /// What happened, in one line.
    pub verdict: String,
    /// Why the run stopped before its end, if it did.
    pub incomplete: Option<String>,
    /// What you are seeing: paragraphs (separated by blank lines) with this run's numbers.
    pub explain: String,
    /// The charts.
    pub figures: Vec<Figure>,
    /// The tables.
    pub tables: Vec<Table>,
    /// Experiments to try: a title, then the exact command; prose after a blank line.
    pub experiments: Vec<(String, String)>,
    /// The faults that ran, as the replayable script in `faults.txt`.
    pub faults: Option<String>,
    /// The terminal report.
    pub text: String,
    /// The files written beside the page.
    pub files: Vec<String>,
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The style of the page (and of a server's page that embeds [`body`]).
pub const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1000px; padding: 1em 1.5em 3em; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.5em; margin-bottom: 0.1em; }
h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.about { color: #555; margin-top: 0; }
.verdict { font-size: 1.05em; padding: 0.7em 1em; border-left: 5px solid #4a7bb7; background: #f2f6fb; }
.incomplete { padding: 0.7em 1em; border-left: 5px solid #c0392b; background: #fbeeee; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f4f4f4; }
td:first-child, th:first-child { text-align: left; }
table.params td { text-align: left; font-family: ui-monospace, monospace; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #444; font-size: 0.92em; margin-top: 0.3em; }
details { margin: 0.4em 0; border: 1px solid #e2e2e2; border-radius: 4px; padding: 0.3em 0.8em; }
summary { cursor: pointer; font-weight: 600; }
pre { background: #f7f7f7; padding: 0.6em 0.8em; overflow-x: auto; font-size: 0.88em; }
code { font-family: ui-monospace, monospace; }
";

/// Paragraphs separated by blank lines, each a `<p>`.
fn paragraphs(text: &str) -> String {
    text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).map(|p| format!("<p>{}</p>\n", esc(p))).collect()
}

fn table(out: &mut String, t: &Table, class: &str) {
    let _ = write!(out, "<table{}>", if class.is_empty() { String::new() } else { format!(" class=\"{class}\"") });
    if !t.header.is_empty() {
        out.push_str("<tr>");
        for h in &t.header {
            let _ = write!(out, "<th>{}</th>", esc(h));
        }
        out.push_str("</tr>");
    }
    for row in &t.rows {
        out.push_str("<tr>");
        for c in row {
            let _ = write!(out, "<td>{}</td>", esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>\n");
}

/// The page's content, without `<html>`, `<head>` or `<body>`: for a server that has its own
/// page around it (it should include [`STYLE`]).
pub fn body(p: &Page) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "<h1>{}</h1>", esc(&p.study));
    let _ = writeln!(out, "<p class=\"about\">{}</p>", esc(&p.about));
    let _ = writeln!(out, "<p><code>{}</code></p>", esc(&p.describe));
    let _ = writeln!(out, "<p class=\"verdict\"><b>Verdict.</b> {}</p>", esc(&p.verdict));
    if let Some(why) = &p.incomplete {
        let _ = writeln!(out, "<p class=\"incomplete\"><b>Incomplete run.</b> {}</p>", esc(why));
    }
    if !p.explain.trim().is_empty() {
        out.push_str("<h2>What you are seeing</h2>\n");
        out.push_str(&paragraphs(&p.explain));
    }
    if !p.figures.is_empty() {
        out.push_str("<h2>Charts</h2>\n");
        for f in &p.figures {
            let _ = writeln!(out, "<figure class=\"chart\" data-name=\"{}\">", esc(&f.name));
            // The SVG document inline; its XML declaration, if any, has no place in HTML.
            let svg = f.svg.trim_start();
            let svg = if svg.starts_with("<?xml") { svg.split_once("?>").map_or(svg, |(_, r)| r) } else { svg };
            out.push_str(svg.trim());
            let _ = writeln!(
                out,
                "\n<figcaption><b>{}</b> {} (also in <code>{}.svg</code>)</figcaption></figure>",
                esc(&f.title),
                esc(&f.caption),
                esc(&f.name)
            );
        }
    }
    for t in &p.tables {
        let _ = writeln!(out, "<h2>{}</h2>", esc(&t.title));
        table(&mut out, t, "");
    }
    if !p.experiments.is_empty() {
        out.push_str("<h2>Experiments to try</h2>\n");
        for (title, text) in &p.experiments {
            let (command, prose) = text.split_once("\n\n").unwrap_or((text, ""));
            let _ = writeln!(
                out,
                "<details class=\"experiment\"><summary>{}</summary><pre><code>{}</code></pre>{}</details>",
                esc(title),
                esc(command.trim()),
                paragraphs(prose)
            );
        }
    }
    out.push_str("<h2>Parameters</h2>\n");
    let params = Table {
        title: String::new(),
        header: vec!["parameter".into(), "value".into()],
        rows: p.params.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect(),
    };
    out.push_str("<details><summary>every parameter of this run</summary>\n");
    table(&mut out, &params, "params");
    out.push_str("</details>\n");
    out.push_str("<h2>Faults and files</h2>\n");
    match p.faults.as_deref().filter(|f| !f.trim().is_empty()) {
        Some(f) => {
            let _ = writeln!(
                out,
                "<details><summary>the faults that ran (<code>faults.txt</code>: replay with <code>--faults faults.txt</code>)</summary><pre>{}</pre></details>",
                esc(f)
            );
        }
        None => out.push_str("<p>No fault ran in this run.</p>\n"),
    }
    let _ = writeln!(out, "<details><summary>the terminal report</summary><pre>{}</pre></details>", esc(&p.text));
    if !p.files.is_empty() {
        let names: Vec<String> = p.files.iter().map(|f| format!("<code>{}</code>", esc(f))).collect();
        let _ = writeln!(out, "<p>Beside this page: {}.</p>", names.join(", "));
    }
    out
}

/// The whole document: [`body`] in a page that loads nothing (a Content-Security-Policy that
/// allows only its own inline style).
pub fn page(p: &Page) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{} report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{}</body>\n</html>\n",
        esc(&p.study),
        body(p)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Page {
        Page {
            study: "demo".into(),
            about: "a <question>".into(),
            describe: "x=1".into(),
            params: vec![("seed".into(), "1".into())],
            verdict: "fine & dandy".into(),
            explain: "one.\n\ntwo.".into(),
            figures: vec![Figure {
                name: "chart".into(),
                title: "A chart.".into(),
                caption: "How to read it.".into(),
                svg: "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>\n".into(),
            }],
            tables: vec![Table { title: "phases".into(), header: vec!["a".into()], rows: vec![vec!["1".into()]] }],
            experiments: vec![("Try this".into(), "demo --x 2\n\nYou will see y.".into())],
            faults: Some("at 1s crash a\n".into()),
            text: "text report".into(),
            files: vec!["summary.json".into()],
            ..Page::default()
        }
    }

    #[test]
    fn the_page_is_self_contained_and_escapes_everything() {
        let html = page(&sample());
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
        assert!(html.contains("a &lt;question&gt;") && html.contains("fine &amp; dandy"));
        assert!(!html.contains("<?xml"), "no XML declaration inside HTML");
        assert!(html.contains("<p>one.</p>\n<p>two.</p>"));
        assert!(html.contains("<summary>Try this</summary><pre><code>demo --x 2</code></pre><p>You will see y.</p>"));
        assert!(html.contains("default-src 'none'"));
        for banned in ["<script", "http://", "https://", "<link", "@import", "url("] {
            let outside_svg_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
            assert!(!outside_svg_ns.contains(banned), "{banned}");
        }
        assert!(html.contains(&body(&sample())), "the page wraps the same body a server shows");
    }

    #[test]
    fn a_page_without_faults_or_explanation_says_so_and_still_renders() {
        let p = Page { study: "bare".into(), verdict: "v".into(), ..Page::default() };
        let html = body(&p);
        assert!(html.contains("No fault ran in this run."));
        assert!(!html.contains("What you are seeing"));
    }
}
