//! The report of a whole sweep, the same for every study: a table with one line per point of
//! the grid, where the verdict tips along the first swept parameter, for two parameters a map
//! of the verdict in characters; or all of it as one JSON object (`sweep.json`).

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::cells::{Cell, Cells, Outcome, Shown, Spread, format_measure};
use super::row::SweepRow;

/// The readable report of `rows` (one whole sweep) of study `study`; `what` says what ran.
pub fn text<R: SweepRow>(study: &str, what: &str, rows: &[R], shown: Shown) -> String {
    let cells = Cells::new(rows);
    let keys: Vec<&str> = cells.axes.iter().map(|a| a.key.as_str()).collect();
    let mut out = format!("{study} sweep of {}: {what}\n\n", keys.join(" x "));
    let widths: Vec<usize> = cells
        .axes
        .iter()
        .map(|a| a.values.iter().map(String::len).chain([a.key.len(), 6]).max().unwrap_or(6))
        .collect();
    let mut head: Vec<String> = keys.iter().zip(&widths).map(|(k, w)| format!("{k:>w$}")).collect();
    head.push(format!("{:>5}", "runs"));
    if let Some(v) = R::VERDICT {
        head.push(format!("{:>w$}", v.header, w = v.header.len().max(9)));
    }
    for m in R::MEASURES {
        head.push(format!("{:>w$}", m.header, w = m.header.len().max(8)));
    }
    let spread = cells.cells.iter().any(|c| c.runs > 1) && matches!(shown, Shown::Measure(..));
    if spread {
        head.push(format!("  {} min..max", shown.name()));
    }
    let _ = writeln!(out, "{}", head.join(" "));
    // A column whose means are all whole numbers (counts) is written without decimals.
    let whole: Vec<bool> = (0..R::MEASURES.len())
        .map(|i| cells.cells.iter().filter_map(|c| c.spread(i)).all(|s| s.mean.fract() == 0.0 && s.mean.abs() < 1e15))
        .collect();
    for cell in &cells.cells {
        let mut line: Vec<String> = cell.values.iter().zip(&widths).map(|(v, w)| format!("{v:>w$}")).collect();
        line.push(format!("{:>5}", cell.runs));
        if let Some(v) = R::VERDICT {
            let judged = if cell.yes + cell.no == 0 { "-".to_string() } else { format!("{}/{}", cell.yes, cell.runs) };
            line.push(format!("{judged:>w$}", w = v.header.len().max(9)));
        }
        for (i, m) in R::MEASURES.iter().enumerate() {
            let x = match cell.spread(i) {
                None => "-".to_string(),
                Some(s) if whole[i] && !m.ratio => format!("{:.0}", s.mean),
                Some(s) => format_measure(m, s.mean),
            };
            line.push(format!("{x:>w$}", w = m.header.len().max(8)));
        }
        if spread {
            let s = Spread::of(&shown.samples(cell));
            line.push(s.map_or("  -".into(), |s| format!("  {}..{}", shown.format(s.min), shown.format(s.max))));
        }
        let _ = writeln!(out, "{}", line.join(" "));
    }
    // Without a single judged run (cap without a linearizability check) there is nothing to map.
    let judged = cells.cells.iter().any(|c| c.yes + c.no > 0);
    if let Some(v) = R::VERDICT.filter(|_| judged) {
        if cells.axes.len() == 2 {
            out.push_str(&map(&cells, v.yes, v.no));
        }
        out.push_str(&tipping_text(&cells, v.yes, v.no));
    }
    out
}

/// `--merge`'s and a sweep's one JSON object: the swept parameters, the measure shown, one
/// entry per point of the grid (`values`), every run (`runs`) and the tipping points.
pub fn json<R: SweepRow>(rows: &[R], shown: Shown) -> anyhow::Result<Value> {
    let cells = Cells::new(rows);
    let keys: Vec<&str> = cells.axes.iter().map(|a| a.key.as_str()).collect();
    let values: Vec<Value> = cells.cells.iter().map(|c| cell_json::<R>(c)).collect();
    let tips: Vec<Value> =
        cells.tipping_points().iter().map(|(a, b)| json!({"from": a.values, "to": b.values})).collect();
    Ok(json!({
        "sweep": keys,
        "measure": shown.name(),
        "values": values,
        "runs": serde_json::to_value(rows)?,
        "tipping_points": tips,
    }))
}

fn cell_json<R: SweepRow>(c: &Cell) -> Value {
    let mut m = Map::new();
    m.insert("at".into(), json!(c.values));
    m.insert("runs".into(), json!(c.runs));
    if R::VERDICT.is_some() {
        let outcome = match c.outcome() {
            Outcome::Yes => "yes",
            Outcome::No => "no",
            Outcome::Mixed => "mixed",
            Outcome::Unknown => "unknown",
        };
        m.insert("verdict".into(), json!({"yes": c.yes, "no": c.no, "outcome": outcome}));
    }
    let mut spreads = Map::new();
    for (i, measure) in R::MEASURES.iter().enumerate() {
        let s = c.spread(i);
        m.insert(measure.name.into(), json!(s.map(|s| s.mean)));
        spreads.insert(measure.name.into(), json!(s.map(|s| json!({"min": s.min, "max": s.max}))));
    }
    m.insert("spread".into(), Value::Object(spreads));
    Value::Object(m)
}

/// For two parameters: the majority verdict of each point as one character, the first
/// parameter across, the second down.
fn map(cells: &Cells, yes: &str, no: &str) -> String {
    let (x, y) = (&cells.axes[0], &cells.axes[1]);
    let w = y.values.iter().map(String::len).max().unwrap_or(1);
    let mut out = format!(
        "\nphase map: {} across ({} to {}), {} down ('.' {yes}, '#' {no}, '?' seeds disagree, ' ' no verdict)\n",
        x.key,
        x.values.first().map_or("", String::as_str),
        x.values.last().map_or("", String::as_str),
        y.key
    );
    for (j, yv) in y.values.iter().enumerate() {
        let line: String = (0..x.values.len())
            .map(|i| match cells.at(&[i, j]).map(Cell::outcome) {
                Some(Outcome::Yes) => '.',
                Some(Outcome::No) => '#',
                Some(Outcome::Mixed) => '?',
                _ => ' ',
            })
            .collect();
        let _ = writeln!(out, "  {yv:>w$} |{line}|");
    }
    out
}

/// Where the majority verdict changes along the first parameter.
fn tipping_text(cells: &Cells, yes: &str, no: &str) -> String {
    let key = &cells.axes[0].key;
    let word = |c: &Cell| if c.mostly_yes() == Some(true) { yes } else { no };
    let tips = cells.tipping_points();
    let others = |c: &Cell| -> String {
        cells.axes[1..].iter().zip(&c.values[1..]).map(|(a, v)| format!("{}={v}", a.key)).collect::<Vec<_>>().join(" ")
    };
    if tips.is_empty() {
        return "\ntipping point: not within these values (every value ended the same way)\n".into();
    }
    let mut out = String::from("\n");
    for (a, b) in tips {
        let at = if cells.axes.len() > 1 { format!(" at {}", others(a)) } else { String::new() };
        let _ = writeln!(
            out,
            "tipping point{at}: between {key}={} ({}) and {key}={} ({})",
            a.values[0],
            word(a),
            b.values[0],
            word(b)
        );
    }
    out
}
