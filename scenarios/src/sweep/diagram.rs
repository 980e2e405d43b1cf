//! The picture of a sweep as SVG (hand-built, no dependency): for two swept parameters a phase
//! diagram, a heatmap of the verdict (where every seed ends well, where every seed ends badly,
//! where seeds disagree) or of one measure's mean, with a legend; for one parameter a line of
//! the measure's mean with its spread over seeds and each seed's point.

use std::fmt::Write as _;

use super::cells::{Axis, Cell, Cells, Outcome, Shown, Spread};
use super::row::SweepRow;

/// The colour of a point where every seed ended well.
pub const YES: &str = "#1a9850";
/// The colour of a point where every seed ended badly.
pub const NO: &str = "#d73027";
/// The colour of a point whose seeds disagree.
pub const MIXED: &str = "#fdae61";
/// The colour of a point without a verdict or a value.
pub const NONE: &str = "#d9d9d9";
/// The colour scale of a measure, from its smallest mean to its largest (viridis).
const SCALE: [(f64, f64, f64); 5] =
    [(68.0, 1.0, 84.0), (59.0, 82.0, 139.0), (33.0, 145.0, 140.0), (94.0, 201.0, 98.0), (253.0, 231.0, 37.0)];

const FONT: &str = "font-family=\"sans-serif\"";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// At most `n` characters of `s`, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n - 1).collect::<String>()) }
}

/// The colour of `t` in 0..=1 on the measure scale, and whether text on it should be white.
fn scale(t: f64) -> (String, bool) {
    let t = t.clamp(0.0, 1.0) * (SCALE.len() - 1) as f64;
    let i = (t.floor() as usize).min(SCALE.len() - 2);
    let f = t - i as f64;
    let (a, b) = (SCALE[i], SCALE[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    (format!("#{:02x}{:02x}{:02x}", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2)), t < 2.2)
}

/// A round step (1, 2 or 5 times a power of ten) for about `n` ticks over `span`.
fn step(span: f64, n: f64) -> f64 {
    if span <= 0.0 || !span.is_finite() {
        return 1.0;
    }
    let rough = span / n;
    let mag = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|&m| m >= rough).unwrap_or(10.0 * mag)
}

/// A tick label: as few decimals as the step needs.
fn tick(x: f64, step: f64) -> String {
    let decimals = if step >= 1.0 { 0 } else { (-step.log10()).ceil() as usize };
    format!("{x:.decimals$}")
}

/// The SVG of a sweep of `study` (`what` says what ran), or `None` with more than two swept
/// parameters (the table and `sweep.json` still hold everything).
pub fn render<R: SweepRow>(study: &str, what: &str, rows: &[R], shown: Shown) -> Option<String> {
    let cells = Cells::new(rows);
    match cells.axes.len() {
        1 => Some(line(study, what, &cells, shown)),
        2 => Some(heatmap::<R>(study, what, &cells, shown)),
        _ => None,
    }
}

/// What is shown, in words: `recovered` or the measure's label.
fn shown_label(shown: Shown) -> String {
    match shown {
        Shown::Verdict(v) => format!("share of seeds that {}", v.yes),
        Shown::Measure(_, m) => m.label.to_string(),
    }
}

/// What is shown, as a title says it: the verdict's name or the measure's label.
fn shown_title(shown: Shown) -> String {
    match shown {
        Shown::Verdict(v) => v.header.to_string(),
        Shown::Measure(_, m) => m.label.to_string(),
    }
}

fn seeds_note(cells: &Cells) -> String {
    let lo = cells.cells.iter().map(|c| c.runs).min().unwrap_or(0);
    let hi = cells.cells.iter().map(|c| c.runs).max().unwrap_or(0);
    if lo == hi {
        format!("{lo} seed{} per point", if lo == 1 { "" } else { "s" })
    } else {
        format!("{lo}-{hi} seeds per point")
    }
}

/// `text` cut at spaces into lines of at most `width` characters, at most `max` lines.
fn wrap(text: &str, width: usize, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    if lines.len() > max {
        lines.truncate(max);
        let last = &mut lines[max - 1];
        *last = clip(&format!("{last} …"), width);
    }
    lines
}

/// The page's width for a `title` (16 px bold) and a plot `w` wide.
fn page_width(title: &str, w: f64) -> f64 {
    w.max(40.0 + title.chars().count() as f64 * 9.5)
}

/// Opens the SVG and writes the title and the wrapped subtitle; returns where the plot may start.
fn header(out: &mut String, w: f64, h: f64, title: &str, subtitle: &str) {
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" {FONT} font-size=\"12\">"
    );
    let _ = writeln!(out, "<rect width=\"{w:.0}\" height=\"{h:.0}\" fill=\"white\"/>");
    let _ = writeln!(out, "<text x=\"20\" y=\"26\" font-size=\"16\" font-weight=\"bold\">{}</text>", esc(title));
    for (i, line) in wrap(subtitle, subtitle_chars(w), SUBTITLE_LINES).iter().enumerate() {
        let _ = writeln!(out, "<text x=\"20\" y=\"{}\" fill=\"#555\">{}</text>", 46 + 16 * i, esc(line));
    }
}

/// Lines of subtitle at most.
const SUBTITLE_LINES: usize = 3;

/// Characters of subtitle per line on a page `w` wide.
fn subtitle_chars(w: f64) -> usize {
    ((w - 40.0) / 6.8) as usize
}

/// Where the plot starts below the title and a subtitle of `text` on a page `w` wide.
fn plot_top(text: &str, w: f64) -> f64 {
    46.0 + 16.0 * wrap(text, subtitle_chars(w), SUBTITLE_LINES).len() as f64 + 20.0
}

/// The subtitle: seeds per point, and the run the grid varies.
fn subtitle(cells: &Cells, what: &str) -> String {
    let keys: Vec<&str> = cells.axes.iter().map(|a| a.key.as_str()).collect();
    format!("{}; the swept {} replace those of the base run: {what}", seeds_note(cells), keys.join(" and "))
}

/// Which of `n` labels of width `chars` characters to write on `room` pixels per label.
fn label_every(n: usize, chars: usize, room: f64) -> usize {
    let need = chars as f64 * 7.0 + 8.0;
    ((need / room).ceil() as usize).clamp(1, n.max(1))
}

fn heatmap<R: SweepRow>(study: &str, what: &str, cells: &Cells, shown: Shown) -> String {
    let (xa, ya) = (&cells.axes[0], &cells.axes[1]);
    let (nx, ny) = (xa.values.len(), ya.values.len());
    let cw = (640.0 / nx as f64).clamp(3.0, 96.0);
    let ch = (420.0 / ny as f64).clamp(3.0, 56.0);
    let ylabel_chars = ya.values.iter().map(|v| v.chars().count()).max().unwrap_or(1).min(14);
    let left = 60.0 + ylabel_chars as f64 * 7.0;
    let (pw, ph) = (cw * nx as f64, ch * ny as f64);
    let legend_x = left + pw + 30.0;
    let title = format!("{study}: {} by {} and {}", shown_title(shown), xa.key, ya.key);
    let w = page_width(&title, (legend_x + 250.0).max(800.0));
    let sub = subtitle(cells, what);
    let top = plot_top(&sub, w);
    let legend_h = match shown {
        Shown::Verdict(_) => 16.0 + 22.0 * 4.0,
        Shown::Measure(..) => 45.0 + 160.0 + 24.0 + 44.0,
    };
    let h = top + ph.max(legend_h) + 60.0;
    let mut out = String::new();
    header(&mut out, w, h, &title, &sub);

    // The range of the measure's means, for its colour scale.
    let means: Vec<Option<Spread>> = cells.cells.iter().map(|c| Spread::of(&shown.samples(c))).collect();
    let lo = means.iter().flatten().map(|s| s.mean).fold(f64::INFINITY, f64::min);
    let hi = means.iter().flatten().map(|s| s.mean).fold(f64::NEG_INFINITY, f64::max);
    let text_fits = cw >= 34.0 && ch >= 16.0;
    // The y axis grows upwards: the first value at the bottom.
    let y_of = |j: usize| top + ph - ch * (j + 1) as f64;
    for (cell, mean) in cells.cells.iter().zip(&means) {
        let (x, y) = (left + cw * cell.at[0] as f64, y_of(cell.at[1]));
        let (fill, label, white) = match shown {
            Shown::Verdict(_) => {
                let (fill, label) = match cell.outcome() {
                    Outcome::Yes => (YES.to_string(), String::new()),
                    Outcome::No => (NO.to_string(), String::new()),
                    Outcome::Mixed => (MIXED.to_string(), format!("{}/{}", cell.yes, cell.yes + cell.no)),
                    Outcome::Unknown => (NONE.to_string(), "?".into()),
                };
                (fill, label, false)
            }
            Shown::Measure(..) => match mean {
                Some(s) => {
                    let t = if hi > lo { (s.mean - lo) / (hi - lo) } else { 0.5 };
                    let (fill, white) = scale(t);
                    (fill, shown.format(s.mean), white)
                }
                None => (NONE.to_string(), "-".into(), false),
            },
        };
        let tip = tooltip(cells, cell, shown);
        let _ = writeln!(
            out,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cw:.1}\" height=\"{ch:.1}\" fill=\"{fill}\" stroke=\"white\" stroke-width=\"{sw}\"><title>{}</title></rect>",
            esc(&tip),
            sw = if cw > 8.0 && ch > 8.0 { 1 } else { 0 }
        );
        if matches!(shown, Shown::Measure(..)) && cell.outcome() == Outcome::Mixed {
            let _ = writeln!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"black\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\"/>",
                x + 1.5,
                y + 1.5,
                (cw - 3.0).max(0.5),
                (ch - 3.0).max(0.5)
            );
        }
        if text_fits && !label.is_empty() && label.chars().count() as f64 * 6.5 < cw - 4.0 {
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" fill=\"{}\">{}</text>",
                x + cw / 2.0,
                y + ch / 2.0 + 4.0,
                if white { "white" } else { "black" },
                esc(&label)
            );
        }
    }
    let _ = writeln!(
        out,
        "<rect x=\"{left:.1}\" y=\"{top:.1}\" width=\"{pw:.1}\" height=\"{ph:.1}\" fill=\"none\" stroke=\"#333\"/>"
    );
    axis_labels(&mut out, xa, ya, left, top, cw, ch, pw, ph);
    match shown {
        Shown::Verdict(v) => {
            let mut entries = vec![
                (YES, format!("{} (every seed)", v.yes)),
                (NO, format!("{} (every seed)", v.no)),
                (MIXED, format!("seeds disagree (k/n {})", v.yes)),
            ];
            if cells.cells.iter().any(|c| c.outcome() == Outcome::Unknown) {
                entries.push((NONE, "no verdict".into()));
            }
            let _ =
                writeln!(out, "<text x=\"{legend_x:.1}\" y=\"{:.1}\" font-weight=\"bold\">verdict</text>", top + 4.0);
            for (k, (color, text)) in entries.iter().enumerate() {
                let y = top + 16.0 + 22.0 * k as f64;
                let _ = writeln!(
                    out,
                    "<rect x=\"{legend_x:.1}\" y=\"{y:.1}\" width=\"16\" height=\"16\" fill=\"{color}\" stroke=\"#333\" stroke-width=\"0.5\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                    legend_x + 22.0,
                    y + 12.5,
                    esc(text)
                );
            }
        }
        Shown::Measure(_, m) => {
            let bar_h = 160.0;
            let label = wrap(m.label, 28, 2);
            for (i, line) in label.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "<text x=\"{legend_x:.1}\" y=\"{:.1}\" font-weight=\"bold\">{}</text>",
                    top + 4.0 + 15.0 * i as f64,
                    esc(line)
                );
            }
            let top = top + 15.0 * (label.len() - 1) as f64;
            let _ =
                writeln!(out, "<text x=\"{legend_x:.1}\" y=\"{:.1}\" fill=\"#555\">mean over seeds</text>", top + 20.0);
            out.push_str("<defs><linearGradient id=\"scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">");
            for (k, _) in SCALE.iter().enumerate() {
                let t = k as f64 / (SCALE.len() - 1) as f64;
                let _ = write!(out, "<stop offset=\"{t:.2}\" stop-color=\"{}\"/>", scale(t).0);
            }
            out.push_str("</linearGradient></defs>\n");
            let y0 = top + 30.0;
            let _ = writeln!(
                out,
                "<rect x=\"{legend_x:.1}\" y=\"{y0:.1}\" width=\"16\" height=\"{bar_h:.0}\" fill=\"url(#scale)\" stroke=\"#333\" stroke-width=\"0.5\"/>"
            );
            if lo.is_finite() {
                for (t, v) in [(0.0, lo), (0.5, (lo + hi) / 2.0), (1.0, hi)] {
                    let _ = writeln!(
                        out,
                        "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                        legend_x + 22.0,
                        y0 + bar_h * (1.0 - t) + 4.0,
                        esc(&shown.format(v))
                    );
                }
            }
            let mut y = y0 + bar_h + 24.0;
            if R::VERDICT.is_some() && cells.cells.iter().any(|c| c.yes + c.no > 0) {
                let _ = writeln!(
                    out,
                    "<rect x=\"{legend_x:.1}\" y=\"{y:.1}\" width=\"16\" height=\"16\" fill=\"none\" stroke=\"black\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\"/><text x=\"{:.1}\" y=\"{:.1}\">seeds disagree on the verdict</text>",
                    legend_x + 22.0,
                    y + 12.5
                );
                y += 22.0;
            }
            if means.iter().any(Option::is_none) {
                let _ = writeln!(
                    out,
                    "<rect x=\"{legend_x:.1}\" y=\"{y:.1}\" width=\"16\" height=\"16\" fill=\"{NONE}\"/><text x=\"{:.1}\" y=\"{:.1}\">no value</text>",
                    legend_x + 22.0,
                    y + 12.5
                );
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

/// The tooltip of a cell: its point, its seeds' outcome and the value shown.
fn tooltip(cells: &Cells, cell: &Cell, shown: Shown) -> String {
    let at: Vec<String> = cells.axes.iter().zip(&cell.values).map(|(a, v)| format!("{}={v}", a.key)).collect();
    let mut t = format!("{}: {} runs", at.join(" "), cell.runs);
    if cell.yes + cell.no > 0 {
        let _ = write!(t, ", {} of {} judged ended well", cell.yes, cell.yes + cell.no);
    }
    if let (Shown::Measure(..), Some(s)) = (shown, Spread::of(&shown.samples(cell))) {
        let _ = write!(
            t,
            "; {} mean {} (min {}, max {})",
            shown.name(),
            shown.format(s.mean),
            shown.format(s.min),
            shown.format(s.max)
        );
    }
    t
}

#[allow(clippy::too_many_arguments)]
fn axis_labels(out: &mut String, xa: &Axis, ya: &Axis, left: f64, top: f64, cw: f64, ch: f64, pw: f64, ph: f64) {
    let xchars = xa.values.iter().map(|v| v.chars().count()).max().unwrap_or(1).min(14);
    let every = label_every(xa.values.len(), xchars, cw);
    for (i, v) in xa.values.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let x = left + cw * (i as f64 + 0.5);
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#333\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            top + ph,
            top + ph + 4.0,
            top + ph + 17.0,
            esc(&clip(v, 14))
        );
    }
    let every = label_every(ya.values.len(), 1, ch);
    for (j, v) in ya.values.iter().enumerate().filter(|(j, _)| j % every == 0) {
        let y = top + ph - ch * (j as f64 + 0.5);
        let _ = writeln!(
            out,
            "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{left:.1}\" y2=\"{y:.1}\" stroke=\"#333\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 4.0,
            left - 7.0,
            y + 4.0,
            esc(&clip(v, 14))
        );
    }
    axis_titles(out, &xa.key, &ya.key, (left, top, pw, ph), 16.0);
}

/// The x axis's title under a plot at `(left, top)` of `pw` by `ph`, and the y axis's title
/// turned on its side at `yx`.
fn axis_titles(out: &mut String, x: &str, y: &str, (left, top, pw, ph): (f64, f64, f64, f64), yx: f64) {
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>",
        left + pw / 2.0,
        top + ph + 40.0,
        esc(x)
    );
    let yy = top + ph / 2.0;
    let _ = writeln!(
        out,
        "<text x=\"{yx:.1}\" y=\"{yy:.1}\" text-anchor=\"middle\" font-weight=\"bold\" transform=\"rotate(-90 {yx:.1} {yy:.1})\">{}</text>",
        esc(y)
    );
}

/// The x position of each value, from 0 to 1: by number when every value is one and they
/// increase, else evenly spaced.
fn positions(axis: &Axis) -> Vec<f64> {
    let n = axis.values.len();
    let nums: Option<Vec<f64>> =
        axis.values.iter().map(|v| v.trim().parse::<f64>().ok().filter(|x| x.is_finite())).collect();
    match nums {
        Some(xs) if n > 1 && xs.windows(2).all(|w| w[0] < w[1]) => {
            let (a, b) = (xs[0], xs[n - 1]);
            xs.iter().map(|x| (x - a) / (b - a)).collect()
        }
        _ if n > 1 => (0..n).map(|i| i as f64 / (n - 1) as f64).collect(),
        _ => vec![0.5],
    }
}

fn line(study: &str, what: &str, cells: &Cells, shown: Shown) -> String {
    let axis = &cells.axes[0];
    let (left, pw, ph) = (80.0, 640.0, 320.0);
    let title = format!("{study}: {} by {}", shown_title(shown), axis.key);
    let w = page_width(&title, left + pw + 240.0);
    let sub = subtitle(cells, what);
    let top = plot_top(&sub, w);
    let h = top + ph + 60.0;
    let mut out = String::new();
    header(&mut out, w, h, &title, &sub);
    let samples: Vec<Vec<f64>> = cells.cells.iter().map(|c| shown.samples(c)).collect();
    let all = samples.iter().flatten().copied();
    let (lo, hi) = match shown {
        Shown::Verdict(_) => (0.0, 1.0),
        Shown::Measure(..) => {
            let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
            if lo.is_finite() {
                (lo.min(0.0), if hi > lo.min(0.0) { hi } else { lo.min(0.0) + 1.0 })
            } else {
                (0.0, 1.0)
            }
        }
    };
    let st = step(hi - lo, 5.0);
    let (lo, hi) = ((lo / st).floor() * st, (hi / st).ceil() * st);
    let pad = 12.0;
    let xs: Vec<f64> = positions(axis).iter().map(|t| left + pad + t * (pw - 2.0 * pad)).collect();
    let y_of = |v: f64| top + ph - (v - lo) / (hi - lo) * ph;
    // Grid and y ticks.
    let mut v = lo;
    while v <= hi + st / 2.0 {
        let y = y_of(v);
        let label = match shown {
            Shown::Verdict(_) => format!("{:.0}%", v * 100.0),
            Shown::Measure(..) => tick(v, st),
        };
        let _ = writeln!(
            out,
            "<line x1=\"{left:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e5e5e5\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text>",
            left + pw,
            left - 6.0,
            y + 4.0
        );
        v += st;
    }
    let xchars = axis.values.iter().map(|v| v.chars().count()).max().unwrap_or(1).min(14);
    let every = label_every(axis.values.len(), xchars, (pw - 2.0 * pad) / axis.values.len().max(1) as f64);
    for (i, (value, x)) in axis.values.iter().zip(&xs).enumerate().filter(|(i, _)| i % every == 0) {
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#333\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            top + ph,
            top + ph + 4.0,
            top + ph + 17.0,
            esc(&clip(value, 14))
        );
        let _ = i;
    }
    // The spread over seeds as a band, then each seed, then the mean.
    let spreads: Vec<Option<Spread>> = samples.iter().map(|s| Spread::of(s)).collect();
    let band: Vec<(f64, Spread)> = xs.iter().zip(&spreads).filter_map(|(x, s)| s.map(|s| (*x, s))).collect();
    if band.len() > 1 {
        let mut pts: Vec<String> = band.iter().map(|(x, s)| format!("{x:.1},{:.1}", y_of(s.max))).collect();
        pts.extend(band.iter().rev().map(|(x, s)| format!("{x:.1},{:.1}", y_of(s.min))));
        let _ = writeln!(
            out,
            "<polygon points=\"{}\" fill=\"#1f77b4\" fill-opacity=\"0.18\" stroke=\"none\"/>",
            pts.join(" ")
        );
    }
    for (x, s) in xs.iter().zip(&samples) {
        for v in s {
            let _ = writeln!(
                out,
                "<circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"#555\" fill-opacity=\"0.45\"/>",
                y_of(*v)
            );
        }
    }
    let mean_pts: Vec<String> = band.iter().map(|(x, s)| format!("{x:.1},{:.1}", y_of(s.mean))).collect();
    let _ = writeln!(
        out,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\"/>",
        mean_pts.join(" ")
    );
    for ((x, s), cell) in xs.iter().zip(&spreads).zip(&cells.cells) {
        let Some(s) = s else { continue };
        let fill = match (shown, cell.outcome()) {
            (Shown::Verdict(_), Outcome::Yes) => YES,
            (Shown::Verdict(_), Outcome::No) => NO,
            (Shown::Verdict(_), Outcome::Mixed) => MIXED,
            _ => "#1f77b4",
        };
        let _ = writeln!(
            out,
            "<circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"4.5\" fill=\"{fill}\" stroke=\"#1f77b4\" stroke-width=\"1.5\"><title>{}</title></circle>",
            y_of(s.mean),
            esc(&tooltip(cells, cell, shown))
        );
    }
    // A point whose seeds have no value (a recovery that never came) is marked, not left out
    // silently.
    let missing = spreads.iter().any(Option::is_none);
    for ((x, s), cell) in xs.iter().zip(&spreads).zip(&cells.cells) {
        if s.is_none() {
            let _ = writeln!(
                out,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"14\" fill=\"#888\">×<title>{}: no value</title></text>",
                top + ph - 6.0,
                esc(&tooltip(cells, cell, shown))
            );
        }
    }
    let _ = writeln!(
        out,
        "<rect x=\"{left:.1}\" y=\"{top:.1}\" width=\"{pw:.1}\" height=\"{ph:.1}\" fill=\"none\" stroke=\"#333\"/>"
    );
    axis_titles(&mut out, &axis.key, &clip(&shown_label(shown), 50), (left, top, pw, ph), 18.0);
    // Legend.
    let lx = left + pw + 24.0;
    let _ = writeln!(
        out,
        "<line x1=\"{lx:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#1f77b4\" stroke-width=\"2\"/><text x=\"{:.1}\" y=\"{:.1}\">mean over seeds</text>",
        lx + 20.0,
        lx + 26.0,
        top + 14.0,
        y = top + 10.0
    );
    let _ = writeln!(
        out,
        "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"20\" height=\"12\" fill=\"#1f77b4\" fill-opacity=\"0.18\"/><text x=\"{:.1}\" y=\"{:.1}\">min to max over seeds</text>",
        top + 26.0,
        lx + 26.0,
        top + 36.0
    );
    let _ = writeln!(
        out,
        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"#555\" fill-opacity=\"0.45\"/><text x=\"{:.1}\" y=\"{:.1}\">one seed</text>",
        lx + 10.0,
        top + 54.0,
        lx + 26.0,
        top + 58.0
    );
    let mut ly = top + 76.0;
    if missing {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"14\" fill=\"#888\">×</text><text x=\"{:.1}\" y=\"{:.1}\">no value at this point</text>",
            lx + 10.0,
            ly + 5.0,
            lx + 26.0,
            ly + 4.0
        );
        ly += 20.0;
    }
    if let Shown::Verdict(v) = shown {
        for (k, (color, text)) in [
            (YES, format!("every seed {}", v.yes)),
            (NO, format!("every seed {}", v.no)),
            (MIXED, "seeds disagree".to_string()),
        ]
        .iter()
        .enumerate()
        {
            let y = ly + 20.0 * k as f64;
            let _ = writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4.5\" fill=\"{color}\" stroke=\"#1f77b4\" stroke-width=\"1.5\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                lx + 10.0,
                y,
                lx + 26.0,
                y + 4.0,
                esc(text)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::row::test_row::R;
    use crate::sweep::row::{RunId, Setting};

    /// A grid over `keys` (each with `values`), two seeds per point; `ok` and `x` of a run
    /// from its point and seed.
    fn rows(keys: &[(&str, &[&str])], f: impl Fn(&[usize], u64) -> (Option<bool>, Option<f64>)) -> Vec<R> {
        let grid = crate::sweep::Grid::new(
            keys.iter()
                .map(|(k, vs)| crate::sweep::Sweep {
                    key: k.to_string(),
                    values: vs.iter().map(|v| v.to_string()).collect(),
                })
                .collect(),
        )
        .unwrap();
        crate::sweep::jobs(&grid, 1, 2, None)
            .iter()
            .map(|job| {
                let at: Vec<usize> =
                    keys.iter().zip(&job.values).map(|((_, vs), v)| vs.iter().position(|x| x == v).unwrap()).collect();
                let (ok, x) = f(&at, job.seed);
                let swept = keys
                    .iter()
                    .zip(&job.values)
                    .map(|((k, _), v)| Setting { key: k.to_string(), value: v.clone() })
                    .collect();
                R { id: RunId { swept, seed: job.seed, index: job.index, of: 0 }, ok, x }
            })
            .collect()
    }

    #[test]
    fn two_parameters_draw_a_phase_diagram_of_the_verdict_with_its_legend() {
        // Holds below a = 2, breaks above, and at a = 2 the seeds disagree.
        let rows = rows(&[("a", &["1", "2", "3"]), ("b", &["x", "y"])], |at, seed| {
            (Some(at[0] < 1 || (at[0] == 1 && seed == 1)), Some(at[0] as f64))
        });
        let svg = render("demo", "base", &rows, Shown::choose::<R>(None).unwrap()).unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>\n"));
        assert!(svg.contains("demo: held by a and b"));
        let fills = |c: &str| svg.matches(&format!("fill=\"{c}\" stroke=\"white\"")).count();
        assert_eq!((fills(YES), fills(NO), fills(MIXED)), (2, 2, 2), "one cell per point, coloured by its seeds");
        assert!(svg.contains(">1/2</text>"), "a cell whose seeds disagree says how many held");
        for entry in ["holds (every seed)", "breaks (every seed)", "seeds disagree (k/n holds)"] {
            assert!(svg.contains(entry), "legend entry {entry}");
        }
        assert!(!svg.contains("no verdict"), "no legend entry for what is not drawn");
        for label in [">1</text>", ">3</text>", ">x</text>", ">y</text>"] {
            assert!(svg.contains(label), "axis label {label}");
        }
        assert_eq!(svg.matches('<').count(), svg.matches('>').count());
    }

    #[test]
    fn a_measure_is_a_heatmap_with_its_scale_and_disagreement_outlined() {
        let rows = rows(&[("a", &["1", "2"]), ("b", &["x", "y"])], |at, seed| {
            (Some(at[0] == 0 || seed == 1), (at[1] == 0).then_some(10.0 * (at[0] + 1) as f64))
        });
        let svg = render("demo", "base", &rows, Shown::choose::<R>(Some("x_ms")).unwrap()).unwrap();
        assert!(svg.contains("linearGradient"));
        assert!(
            svg.contains(&format!("fill=\"{}\" stroke=\"white\"", scale(0.0).0)),
            "the smallest mean at the scale's start"
        );
        assert!(svg.contains(&format!("fill=\"{}\" stroke=\"white\"", scale(1.0).0)), "the largest at its end");
        assert_eq!(
            svg.matches("stroke-dasharray=\"3 2\"/>").count(),
            2 + 1,
            "two cells outlined, and the legend's swatch"
        );
        assert!(svg.contains("no value"), "cells without a value are named in the legend");
        assert!(svg.contains(">10.00</text>") && svg.contains(">20.00</text>"));
    }

    #[test]
    fn one_parameter_draws_the_mean_its_spread_and_each_seed_and_more_draw_nothing() {
        let rows = rows(&[("a", &["1", "2", "4"])], |at, seed| {
            (None, (at[0] < 2).then_some(at[0] as f64 * 10.0 + seed as f64))
        });
        let svg = render("demo", "base", &rows, Shown::choose::<R>(Some("x_ms")).unwrap()).unwrap();
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<polygon").count(), 1, "the band from min to max");
        assert_eq!(svg.matches("r=\"2.5\" fill=\"#555\"").count(), 4 + 1, "every seed with a value, and the legend's");
        assert!(svg.contains("×<title>a=4: 2 runs"), "the point without a value is marked");
        // Numbers are placed by value: 4 is twice as far from 2 as 2 from 1.
        assert_eq!(positions(&Cells::new(&rows).axes[0]), [0.0, 1.0 / 3.0, 1.0]);
        let three = self::rows(&[("a", &["1"]), ("b", &["1"]), ("c", &["1"])], |_, _| (Some(true), None));
        assert!(render("demo", "base", &three, Shown::choose::<R>(None).unwrap()).is_none());
    }

    #[test]
    fn long_subtitles_wrap_and_values_escape() {
        assert_eq!(wrap("a bb ccc dddd", 6, 3), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("a bb ccc dddd", 6, 2), ["a bb", "ccc …"]);
        assert_eq!(esc("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
        assert_eq!(positions(&Axis { key: "k".into(), values: vec!["b".into(), "a".into()] }), [0.0, 1.0]);
    }
}
