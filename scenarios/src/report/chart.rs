//! A line chart as SVG: time on x, rates on the left axis, a latency line on the right axis,
//! and shaded spans for triggers. Plain SVG a browser opens, no dependencies.

use std::fmt::Write as _;

/// One line of the chart.
pub struct Line {
    /// Legend label.
    pub label: String,
    /// CSS colour.
    pub color: &'static str,
    /// Points `(x, y)`; `None` y leaves a gap.
    pub points: Vec<(f64, Option<f64>)>,
    /// Plot against the right axis.
    pub right: bool,
}

/// A chart.
pub struct Chart {
    /// Title.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// Left-axis label.
    pub left_label: String,
    /// Right-axis label.
    pub right_label: String,
    /// Lines.
    pub lines: Vec<Line>,
    /// Shaded spans `(from, to, label)`.
    pub spans: Vec<(f64, f64, String)>,
}

const W: f64 = 960.0;
const H: f64 = 480.0;
/// Margins: left, right, top, bottom.
const L: f64 = 70.0;
const R: f64 = 80.0;
const T: f64 = 50.0;
const B: f64 = 60.0;

/// A round tick step (1, 2 or 5 times a power of ten) giving at most six ticks up to `max`, and
/// the axis end: the first tick at or past `max`.
pub(crate) fn axis(max: f64) -> (f64, f64) {
    if max <= 0.0 || !max.is_finite() {
        return (0.2, 1.0);
    }
    let rough = max / 6.0;
    let mag = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|&m| m >= rough).unwrap_or(10.0 * mag);
    (step, (max / step).ceil().max(1.0) * step)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl Chart {
    /// The SVG document.
    pub fn render(&self) -> String {
        let xs = self.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
        let (x_step, x_max) = axis(xs.fold(0.0, f64::max));
        let y_axis = |right: bool| {
            let m = self.lines.iter().filter(|l| l.right == right).flat_map(|l| l.points.iter().filter_map(|p| p.1));
            axis(m.fold(0.0, f64::max))
        };
        let ((yl_step, yl), (yr_step, yr)) = (y_axis(false), y_axis(true));
        let (pw, ph) = (W - L - R, H - T - B);
        let px = |x: f64| L + x / x_max * pw;
        let py = |y: f64, max: f64| T + ph - y / max * ph;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
            W / 2.0,
            esc(&self.title)
        );
        for (from, to, label) in &self.spans {
            let (a, b) = (px(from.max(0.0)), px(to.min(x_max)));
            let _ = writeln!(
                s,
                r##"<rect x="{a:.1}" y="{T}" width="{:.1}" height="{ph}" fill="#f4b183" fill-opacity="0.35"/>"##,
                (b - a).max(1.0)
            );
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#a0522d">{}</text>"##,
                (a + b) / 2.0,
                T + 14.0,
                esc(label)
            );
        }
        let ticks =
            |step: f64, max: f64| (0..).map(move |i| f64::from(i) * step).take_while(move |v| *v <= max * (1.0 + 1e-9));
        for v in ticks(yl_step, yl) {
            let y = py(v, yl);
            let _ = writeln!(s, r##"<line x1="{L}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/>"##, L + pw);
            let _ = writeln!(s, r#"<text x="{}" y="{:.1}" text-anchor="end">{v}</text>"#, L - 6.0, y + 4.0);
        }
        if self.lines.iter().any(|l| l.right) {
            for v in ticks(yr_step, yr) {
                let _ = writeln!(s, r#"<text x="{}" y="{:.1}">{v}</text>"#, L + pw + 6.0, py(v, yr) + 4.0);
            }
        }
        for v in ticks(x_step, x_max) {
            let _ = writeln!(s, r#"<text x="{:.1}" y="{}" text-anchor="middle">{v}</text>"#, px(v), T + ph + 18.0);
        }
        let _ = writeln!(s, r##"<rect x="{L}" y="{T}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>"##);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            L + pw / 2.0,
            H - 18.0,
            esc(&self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate(18 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
            T + ph / 2.0,
            esc(&self.left_label)
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate({} {}) rotate(90)" text-anchor="middle">{}</text>"#,
            W - 16.0,
            T + ph / 2.0,
            esc(&self.right_label)
        );
        for (i, line) in self.lines.iter().enumerate() {
            let max = if line.right { yr } else { yl };
            let mut d = String::new();
            let mut pen_up = true;
            for &(x, y) in &line.points {
                match y {
                    Some(y) => {
                        let _ = write!(d, "{}{:.1},{:.1} ", if pen_up { "M" } else { "L" }, px(x), py(y, max));
                        pen_up = false;
                    }
                    None => pen_up = true,
                }
            }
            let dash = if line.right { r#" stroke-dasharray="5 3""# } else { "" };
            let _ = writeln!(
                s,
                r#"<path d="{}" fill="none" stroke="{}" stroke-width="1.6"{dash}/>"#,
                d.trim_end(),
                line.color
            );
            let (lx, ly) = (L + 10.0 + (i as f64) * 120.0, T - 10.0);
            let _ = writeln!(
                s,
                r#"<line x1="{lx}" x2="{}" y1="{ly}" y2="{ly}" stroke="{}" stroke-width="3"{dash}/>"#,
                lx + 18.0,
                line.color
            );
            let _ = writeln!(s, r#"<text x="{}" y="{}">{}</text>"#, lx + 22.0, ly + 4.0, esc(&line.label));
        }
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_the_first_round_tick_past_the_data() {
        assert_eq!(axis(119.0), (20.0, 120.0));
        assert_eq!(axis(1560.0), (500.0, 2000.0));
        assert_eq!(axis(0.0), (0.2, 1.0));
        assert_eq!(axis(7.0), (2.0, 8.0));
    }

    #[test]
    fn renders_lines_gaps_axes_and_spans() {
        let chart = Chart {
            title: "a <test>".into(),
            x_label: "time (s)".into(),
            left_label: "requests/s".into(),
            right_label: "p99 (ms)".into(),
            lines: vec![
                Line {
                    label: "offered".into(),
                    color: "black",
                    points: vec![(0.0, Some(1.0)), (1.0, Some(3.0))],
                    right: false,
                },
                Line {
                    label: "p99".into(),
                    color: "red",
                    points: vec![(0.0, Some(5.0)), (1.0, None), (2.0, Some(7.0))],
                    right: true,
                },
            ],
            spans: vec![(0.5, 1.5, "spike".into())],
        };
        let svg = chart.render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("a &lt;test&gt;"));
        assert_eq!(svg.matches("<path").count(), 2);
        assert_eq!(svg.matches(" M").count() + svg.matches("\"M").count(), 3, "the gap starts a new stroke");
        assert!(svg.contains(">spike</text>"));
    }
}
