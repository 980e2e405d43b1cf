//! Charts that show a mechanism: several panels stacked on one shared time axis (rather than two
//! y axes on one plot), each with its own unit and scale, latency on a log scale that never
//! clips. Phases are shaded across every panel and labelled in a strip above the first one, where
//! no label can cover data; a partial last window is greyed and labelled. Plain SVG with no ids,
//! scripts or external references, so that many can sit inline in one HTML page.

use std::fmt::Write as _;

use super::chart::axis;

/// How a panel maps values to height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// From zero up to a round tick at or past the largest value.
    Linear,
    /// Decades from below the smallest positive value to above the largest: nothing is clipped.
    Log,
}

/// One line in a panel.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// CSS colour.
    pub color: &'static str,
    /// Points `(x, y)`, x at the centre of the window the value covers; `None` leaves a gap.
    pub points: Vec<(f64, Option<f64>)>,
    /// A dashed reference line (such as capacity) rather than measured data: no markers.
    pub reference: bool,
}

impl Series {
    /// Measured data.
    pub fn data(label: &str, color: &'static str, points: Vec<(f64, Option<f64>)>) -> Series {
        Series { label: label.to_string(), color, points, reference: false }
    }

    /// A horizontal reference line at `y` from `x0` to `x1`.
    pub fn level(label: &str, color: &'static str, y: f64, x0: f64, x1: f64) -> Series {
        Series { label: label.to_string(), color, points: vec![(x0, Some(y)), (x1, Some(y))], reference: true }
    }
}

/// One panel: a title with its unit, a scale, and its lines.
#[derive(Clone, Debug)]
pub struct Panel {
    /// What the panel shows, with its unit (`queue (requests waiting)`).
    pub title: String,
    /// Linear or log.
    pub scale: Scale,
    /// A fixed top of a linear scale (100 for a percentage); `None`: from the data.
    pub y_max: Option<f64>,
    /// The lines.
    pub series: Vec<Series>,
}

impl Panel {
    /// A panel of `scale` whose top follows the data.
    pub fn new(title: &str, scale: Scale, series: Vec<Series>) -> Panel {
        Panel { title: title.to_string(), scale, y_max: None, series }
    }
}

/// A shaded span of time: a phase, a fault, a spike.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    /// Start (x units).
    pub from: f64,
    /// End (x units); equal to `from` for an instant, drawn as a line.
    pub to: f64,
    /// Its label, in the strip above the panels.
    pub label: String,
}

/// Panels sharing one time axis.
#[derive(Clone, Debug)]
pub struct Panels {
    /// Title above everything.
    pub title: String,
    /// The x axis's label.
    pub x_label: String,
    /// The end of the x axis (the run's end): the axis goes from 0 to here exactly.
    pub x_end: f64,
    /// Shaded spans.
    pub bands: Vec<Band>,
    /// A last window that covers less than a full window, `(from, to)`: greyed and labelled.
    pub partial: Option<(f64, f64)>,
    /// The panels, top to bottom.
    pub panels: Vec<Panel>,
}

/// The most points a line draws: a longer series is drawn as the smallest and largest value of
/// each run of windows (so that a spike stays visible), and the figure says so.
pub const MAX_POINTS: usize = 1600;

/// `points` reduced to at most [`MAX_POINTS`]: per bucket of consecutive points, its smallest
/// and largest value in the order they came (a bucket with no value is a gap). Returns the
/// points and the bucket size (1 when nothing was reduced).
pub fn reduce(points: &[(f64, Option<f64>)]) -> (Vec<(f64, Option<f64>)>, usize) {
    if points.len() <= MAX_POINTS {
        return (points.to_vec(), 1);
    }
    let k = points.len().div_ceil(MAX_POINTS / 2);
    let mut out = Vec::with_capacity(MAX_POINTS);
    for bucket in points.chunks(k) {
        let values = bucket.iter().filter_map(|&(x, y)| Some((x, y?)));
        let lo = values.clone().min_by(|a, b| a.1.total_cmp(&b.1));
        let hi = values.max_by(|a, b| a.1.total_cmp(&b.1));
        match (lo, hi) {
            (Some(lo), Some(hi)) => {
                let (first, second) = if lo.0 <= hi.0 { (lo, hi) } else { (hi, lo) };
                out.push((first.0, Some(first.1)));
                out.push((second.0, Some(second.1)));
            }
            _ => out.push((bucket[0].0, None)),
        }
    }
    (out, k)
}

/// Width of the figure.
pub const WIDTH: f64 = 960.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 24.0;
const PANEL_H: f64 = 120.0;
const PANEL_GAP: f64 = 40.0;
const STRIP_ROW: f64 = 15.0;
const BOTTOM: f64 = 52.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A tick value as few characters as it needs: `0.2`, `250`, `1.5k`, `2M`.
pub fn tick(v: f64) -> String {
    let r = |x: f64| (x * 1e6).round() / 1e6;
    let a = v.abs();
    if a >= 1e6 {
        format!("{}M", r(v / 1e6))
    } else if a >= 1e4 {
        format!("{}k", r(v / 1e3))
    } else {
        format!("{}", r(v))
    }
}

/// The y mapping of one panel: value to a fraction of the height (0 at the bottom), and ticks.
struct YAxis {
    scale: Scale,
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl YAxis {
    fn new(scale: Scale, values: &[f64], fixed: Option<f64>) -> YAxis {
        match scale {
            Scale::Linear => {
                let max = values.iter().copied().fold(0.0, f64::max);
                // Headroom: a line at the top tick would run along the frame and hide there.
                let (step, end) = match fixed {
                    Some(top) if top >= max => axis(top),
                    _ if axis(max).1 * 0.97 <= max => axis(max * 1.08),
                    _ => axis(max),
                };
                let ticks = (0..).map(|i| f64::from(i) * step).take_while(|v| *v <= end * (1.0 + 1e-9)).collect();
                YAxis { scale, lo: 0.0, hi: end, ticks }
            }
            Scale::Log => {
                let pos: Vec<f64> = values.iter().copied().filter(|v| *v > 0.0 && v.is_finite()).collect();
                let min = pos.iter().copied().fold(f64::INFINITY, f64::min);
                let max = pos.iter().copied().fold(0.0, f64::max);
                let (mut lo, mut hi) = if pos.is_empty() {
                    (0, 1)
                } else {
                    // A margin of 5% at both ends: a value on a decade does not sit on the frame.
                    ((min * 0.95).log10().floor() as i32, (max * 1.05).log10().ceil() as i32)
                };
                if hi <= lo {
                    hi = lo + 1;
                }
                // At most eight decades of ticks: beyond that, every other one.
                let stride = ((hi - lo) as usize).div_ceil(8).max(1);
                lo = lo.min(hi - 1);
                let ticks = (lo..=hi).step_by(stride).map(|e| 10f64.powi(e)).collect();
                YAxis { scale, lo: 10f64.powi(lo), hi: 10f64.powi(hi), ticks }
            }
        }
    }

    /// The fraction of the height for `v`, or `None` where it cannot be drawn (zero on a log
    /// scale: left as a gap, and said in the legend).
    fn frac(&self, v: f64) -> Option<f64> {
        match self.scale {
            Scale::Linear => Some(if self.hi > 0.0 { v / self.hi } else { 0.0 }),
            Scale::Log if v > 0.0 => Some((v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())),
            Scale::Log => None,
        }
    }
}

/// The most rows of labels above the panels; a label that fits in none is left out (its span
/// is still shaded).
const MAX_LABEL_ROWS: usize = 3;

/// Places labels centred at `xs` (with their widths) in rows so that none overlaps another;
/// returns each label's row, or `None` when it fits in none of [`MAX_LABEL_ROWS`].
fn rows(labels: &[(f64, f64)]) -> Vec<Option<usize>> {
    let mut ends: Vec<f64> = Vec::new();
    labels
        .iter()
        .map(|&(x, w)| {
            let start = x - w / 2.0;
            match ends.iter().position(|&e| e + 6.0 <= start) {
                Some(row) => {
                    ends[row] = x + w / 2.0;
                    Some(row)
                }
                None if ends.len() < MAX_LABEL_ROWS => {
                    ends.push(x + w / 2.0);
                    Some(ends.len() - 1)
                }
                None => None,
            }
        })
        .collect()
}

/// The width of `text` in the figure's 11px font, roughly.
fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * 6.2
}

impl Panels {
    /// The SVG document (also valid inline in HTML).
    pub fn render(&self) -> String {
        let pw = WIDTH - LEFT - RIGHT;
        let x_end = if self.x_end > 0.0 && self.x_end.is_finite() { self.x_end } else { 1.0 };
        let px = |x: f64| LEFT + (x.clamp(0.0, x_end) / x_end) * pw;
        // The label strip: bands and the partial window, in rows that do not overlap.
        let mut labels: Vec<(f64, String)> =
            self.bands.iter().map(|b| ((px(b.from) + px(b.to)) / 2.0, b.label.clone())).collect();
        if let Some((a, b)) = self.partial {
            labels.push(((px(a) + px(b)) / 2.0, "partial window".to_string()));
        }
        // A label near either end stays whole inside the figure.
        for (x, l) in &mut labels {
            let half = text_width(l) / 2.0 + 2.0;
            *x = x.clamp(half.min(WIDTH / 2.0), (WIDTH - half).max(WIDTH / 2.0));
        }
        let placed: Vec<(f64, f64)> = labels.iter().map(|(x, l)| (*x, text_width(l))).collect();
        let label_rows = rows(&placed);
        let strip = (label_rows.iter().flatten().max().map_or(0, |r| r + 1)) as f64 * STRIP_ROW;
        let top = 34.0 + strip + PANEL_GAP - 14.0;
        let n = self.panels.len().max(1) as f64;
        let height = top + n * PANEL_H + (n - 1.0) * PANEL_GAP + BOTTOM;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11" role="img">"#
        );
        let _ = writeln!(s, "<title>{}</title>", esc(&self.title));
        let _ = writeln!(s, r#"<rect width="{WIDTH}" height="{height}" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="20" text-anchor="middle" font-size="14">{}</text>"#,
            WIDTH / 2.0,
            esc(&self.title)
        );
        for ((x, label), row) in labels.iter().zip(&label_rows).filter_map(|(l, r)| Some((l, (*r)?))) {
            let _ = writeln!(
                s,
                r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#8a4b12">{}</text>"##,
                38.0 + row as f64 * STRIP_ROW,
                esc(label)
            );
        }
        let bottom_of_last = top + n * PANEL_H + (n - 1.0) * PANEL_GAP;
        let mut bucket = 1;
        for (i, panel) in self.panels.iter().enumerate() {
            let y0 = top + i as f64 * (PANEL_H + PANEL_GAP);
            bucket = bucket.max(self.panel(&mut s, panel, y0, &px));
        }
        // x ticks under the last panel; thin grid lines through every panel.
        let (step, _) = axis(x_end);
        let mut v = 0.0;
        while v <= x_end * (1.0 + 1e-9) {
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                px(v),
                bottom_of_last + 15.0,
                tick(v)
            );
            v += step;
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + pw / 2.0,
            bottom_of_last + 36.0,
            esc(&self.x_label)
        );
        if bucket > 1 {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#666">each line: the smallest and largest of every {bucket} points</text>"##,
                WIDTH - RIGHT,
                bottom_of_last + 36.0
            );
        }
        s.push_str("</svg>\n");
        s
    }

    /// Draws one panel; returns the largest bucket a line was reduced by (1: none).
    fn panel(&self, s: &mut String, panel: &Panel, y0: f64, px: &dyn Fn(f64) -> f64) -> usize {
        let pw = WIDTH - LEFT - RIGHT;
        let values: Vec<f64> = panel.series.iter().flat_map(|l| l.points.iter().filter_map(|p| p.1)).collect();
        let y = YAxis::new(panel.scale, &values, panel.y_max);
        let py = |v: f64| y.frac(v).map(|f| y0 + PANEL_H - f * PANEL_H);
        // Title and legend above the panel.
        let _ = writeln!(s, r#"<text x="{LEFT}" y="{:.1}" font-weight="bold">{}</text>"#, y0 - 8.0, esc(&panel.title));
        let mut lx = WIDTH - RIGHT;
        for l in panel.series.iter().rev() {
            let w = text_width(&l.label) + 26.0;
            lx -= w;
            let dash = if l.reference { r#" stroke-dasharray="6 3""# } else { "" };
            let _ = writeln!(
                s,
                r#"<line x1="{lx:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{}" stroke-width="2.5"{dash}/>"#,
                lx + 16.0,
                y0 - 12.0,
                y0 - 12.0,
                l.color
            );
            let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}">{}</text>"#, lx + 20.0, y0 - 8.0, esc(&l.label));
        }
        // Bands and the partial window under the data.
        for b in &self.bands {
            let (a, z) = (px(b.from), px(b.to));
            let _ = writeln!(
                s,
                r##"<rect x="{a:.1}" y="{y0:.1}" width="{:.1}" height="{PANEL_H}" fill="#f4b183" fill-opacity="0.32"/>"##,
                (z - a).max(1.5)
            );
        }
        if let Some((a, z)) = self.partial {
            let (a, z) = (px(a), px(z));
            let _ = writeln!(
                s,
                r##"<rect x="{a:.1}" y="{y0:.1}" width="{:.1}" height="{PANEL_H}" fill="#999" fill-opacity="0.25" stroke="#777" stroke-dasharray="3 2"/>"##,
                (z - a).max(1.5)
            );
        }
        for &t in &y.ticks {
            if let Some(yy) = py(t) {
                let _ = writeln!(
                    s,
                    r##"<line x1="{LEFT}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#e4e4e4"/>"##,
                    LEFT + pw
                );
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                    LEFT - 5.0,
                    yy + 4.0,
                    tick(t)
                );
            }
        }
        if panel.scale == Scale::Log {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#666">log</text>"##,
                LEFT - 5.0,
                y0 - 8.0
            );
        }
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{y0:.1}" width="{pw}" height="{PANEL_H}" fill="none" stroke="#444"/>"##
        );
        if values.is_empty() {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#777">no data</text>"##,
                LEFT + pw / 2.0,
                y0 + PANEL_H / 2.0
            );
        }
        let mut reduced = 1;
        for l in &panel.series {
            let (points, k) = reduce(&l.points);
            reduced = reduced.max(k);
            let mut d = String::new();
            let mut pen_up = true;
            let mut marks = String::new();
            for &(x, v) in &points {
                match v.and_then(py) {
                    Some(yy) => {
                        let _ = write!(d, "{}{:.1},{yy:.1} ", if pen_up { "M" } else { "L" }, px(x));
                        pen_up = false;
                        if !l.reference && points.len() <= 240 {
                            let _ =
                                write!(marks, r#"<circle cx="{:.1}" cy="{yy:.1}" r="1.8" fill="{}"/>"#, px(x), l.color);
                        }
                    }
                    None => pen_up = true,
                }
            }
            if d.is_empty() {
                continue;
            }
            let dash = if l.reference { r#" stroke-dasharray="6 3""# } else { "" };
            let _ = writeln!(
                s,
                r#"<path d="{}" fill="none" stroke="{}" stroke-width="1.5"{dash}/>"#,
                d.trim_end(),
                l.color
            );
            if !marks.is_empty() {
                s.push_str(&marks);
                s.push('\n');
            }
        }
        reduced
    }
}

/// The centre of window `i` of `width` in a run that ends at `end`: a partial last window's
/// centre is that of the part the run covered.
pub fn centre(i: usize, width: f64, end: f64) -> f64 {
    let start = i as f64 * width;
    (start + (start + width).min(end.max(start))) / 2.0
}

/// The partial last window of a run of `n` windows of `width` that ends at `end`, if the last
/// window covers less than `width`.
pub fn partial(n: usize, width: f64, end: f64) -> Option<(f64, f64)> {
    let last = n.checked_sub(1)? as f64 * width;
    (end - last < width * (1.0 - 1e-9) && end > last).then_some((last, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panels(scale: Scale, ys: &[Option<f64>]) -> Panels {
        Panels {
            title: "t".into(),
            x_label: "time (s)".into(),
            x_end: 10.0,
            bands: vec![Band { from: 2.0, to: 4.0, label: "spike".into() }],
            partial: None,
            panels: vec![Panel::new(
                "latency (ms)",
                scale,
                vec![Series::data("p99", "red", ys.iter().enumerate().map(|(i, y)| (i as f64 + 0.5, *y)).collect())],
            )],
        }
    }

    #[test]
    fn log_scale_spans_every_value_so_nothing_is_clipped() {
        let a = YAxis::new(Scale::Log, &[0.4, 12_000.0], None);
        assert_eq!((a.lo, a.hi), (0.1, 100_000.0));
        for v in [0.4, 3.0, 12_000.0] {
            let f = a.frac(v).unwrap();
            assert!((0.0..=1.0).contains(&f), "{v} at {f}");
        }
        assert_eq!(a.frac(0.0), None, "zero has no place on a log scale: a gap, not a clipped point");
        let one = YAxis::new(Scale::Log, &[100.0], None);
        assert_eq!((one.lo, one.hi), (10.0, 1000.0), "a value on a decade is not drawn on the frame");
        let mid = YAxis::new(Scale::Log, &[200.0, 300.0], None);
        assert_eq!((mid.lo, mid.hi), (100.0, 1000.0), "one decade around values inside it");
        let lin = YAxis::new(Scale::Linear, &[250.0], None);
        assert_eq!(lin.hi, 300.0, "a value on a round tick gets headroom: {:?}", lin.ticks);
        assert_eq!(YAxis::new(Scale::Linear, &[100.0], Some(100.0)).hi, 100.0, "a fixed top is kept");
    }

    #[test]
    fn points_sit_at_window_centres_and_a_partial_window_is_found() {
        assert_eq!(centre(0, 5.0, 12.0), 2.5);
        assert_eq!(centre(2, 5.0, 12.0), 11.0, "the last window covers 10-12 s");
        assert_eq!(partial(3, 5.0, 12.0), Some((10.0, 12.0)));
        assert_eq!(partial(3, 5.0, 15.0), None);
    }

    #[test]
    fn labels_that_would_overlap_go_to_another_row() {
        assert_eq!(rows(&[(100.0, 50.0), (120.0, 50.0), (300.0, 50.0)]), vec![Some(0), Some(1), Some(0)]);
        let crowded = rows(&[(100.0, 50.0); 5]);
        assert_eq!(crowded, vec![Some(0), Some(1), Some(2), None, None], "at most three rows");
    }

    #[test]
    fn renders_bands_in_the_strip_gaps_as_new_strokes_and_no_ids() {
        let svg = panels(Scale::Log, &[Some(5.0), None, Some(7.0), Some(0.0), Some(9.0)]).render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains(">spike</text>") && svg.contains(">p99</text>"));
        assert_eq!(svg.matches("<path").count(), 1);
        assert_eq!(svg.matches(" M").count() + svg.matches("\"M").count(), 3, "a gap and a zero start new strokes");
        assert!(!svg.contains(" id="), "inline SVGs share the page's id space");
        let empty = panels(Scale::Linear, &[]).render();
        assert!(empty.contains(">no data</text>"));
    }

    #[test]
    fn a_long_series_is_drawn_as_the_extremes_of_each_bucket() {
        let mut points: Vec<(f64, Option<f64>)> = (0..100_000).map(|i| (i as f64, Some(1.0))).collect();
        points[54_321].1 = Some(500.0);
        points[70_000].1 = None;
        let (drawn, k) = reduce(&points);
        assert!(drawn.len() <= MAX_POINTS && k > 1, "{} points, buckets of {k}", drawn.len());
        assert!(drawn.contains(&(54_321.0, Some(500.0))), "the spike survives");
        assert!(drawn.windows(2).all(|w| w[0].0 <= w[1].0), "in x order");
        let few = &points[..10];
        assert_eq!(reduce(few), (few.to_vec(), 1));
        let mut big = panels(Scale::Linear, &[]);
        big.panels[0].series[0].points = points;
        let svg = big.render();
        assert!(svg.len() < 200_000, "{} bytes", svg.len());
        assert!(svg.contains("the smallest and largest of every"));
    }

    #[test]
    fn a_label_at_either_end_stays_inside_the_figure() {
        let mut p = panels(Scale::Linear, &[Some(1.0), Some(2.0)]);
        p.bands = vec![Band { from: 0.0, to: 0.0, label: "a long label at the start".into() }];
        p.partial = Some((9.99, 10.0));
        let svg = p.render();
        let x = |label: &str| -> f64 {
            let end = svg.find(&format!(">{label}</text>")).unwrap();
            let start = svg[..end].rfind("x=\"").unwrap() + 3;
            svg[start..].split('"').next().unwrap().parse().unwrap()
        };
        let half = |label: &str| text_width(label) / 2.0;
        assert!(x("a long label at the start") - half("a long label at the start") >= 0.0);
        assert!(x("partial window") + half("partial window") <= WIDTH, "{}", x("partial window"));
    }

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(0.6000000000000001), "0.6");
        assert_eq!(tick(250.0), "250");
        assert_eq!(tick(15_000.0), "15k");
        assert_eq!(tick(2_000_000.0), "2M");
    }
}
