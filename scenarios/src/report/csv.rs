//! CSV: a header and rows, quoted where a field needs it.

/// Renders `header` and `rows` as CSV text.
pub fn render(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let field = |f: &str| {
        if f.contains([',', '"', '\n']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f.to_string() }
    };
    let mut out = header.iter().map(|h| field(h)).collect::<Vec<_>>().join(",");
    out.push('\n');
    for row in rows {
        out.push_str(&row.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// A number for a CSV cell: empty for `None`.
pub fn cell(v: Option<f64>) -> String {
    v.map(|v| format!("{v}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        let text = render(&["a", "b"], vec![vec!["1".into(), "x,y".into()], vec!["say \"hi\"".into(), cell(None)]]);
        assert_eq!(text, "a,b\n1,\"x,y\"\n\"say \"\"hi\"\"\",\n");
    }
}
