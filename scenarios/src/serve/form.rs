//! The form of a study's page, made from its parameter table: a slider beside the box of each
//! number with a range, a select for each choice, a switch for each boolean, and each field's
//! help, default and allowed values. The boxes hold the values (a slider only moves its box, so
//! a value outside the slider's span is kept as typed); errors show next to their field.

use maud::{Markup, html};
use serde_json::Value;

use super::presets::Presets;
use super::query::{Refused, Request, shown_value};
use super::registry::Entry;
use crate::study::{Kind, Param};

/// What the form shows: the values to put in its fields and the errors to show beside them.
pub struct FormState<'a> {
    /// The request, whose values are shown as typed.
    pub request: &'a Request,
    /// The parameters the fields start from (the preset's, or the defaults).
    pub base: &'a Value,
    /// The error, if the request was refused.
    pub error: Option<&'a Refused>,
}

/// The slider of a number parameter: `(low, high, step)`, spanning its default and value.
fn slider(p: &Param, default: f64, value: Option<f64>) -> Option<(f64, f64, f64)> {
    let v = value.unwrap_or(default);
    match p.kind {
        // An id (a seed) has no scale a slider could show.
        Kind::Int { max: u64::MAX, .. } => None,
        Kind::Int { min, max } => {
            let (lo, max) = (min as f64, max as f64);
            let hi = (default * 4.0).max(v).max(lo + 10.0).min(max);
            Some((lo, hi, 1.0))
        }
        Kind::Float { min, max, .. } => {
            let hi = if max <= 1.0 { max } else { (default * 4.0).max(v).max(min + 1.0).min(max) };
            Some((min, hi, ((hi - min) / 200.0).max(1e-6)))
        }
        _ => None,
    }
}

/// The form of `entry` for `state`, its fields named by their flags; `action` is where a
/// person without JavaScript submits it.
/// `mode` is `study`, `live` or `sweep` (the script re-runs only a study page), and `extra`
/// fields go first.
pub fn form(
    entry: &Entry,
    presets: &Presets,
    state: &FormState<'_>,
    action: &str,
    mode: &str,
    extra: Markup,
) -> Markup {
    let chosen = state.request.get("preset").unwrap_or("");
    html! {
        form #params method="get" action=(action) data-study=(entry.name) data-mode=(mode) {
            (extra)
            div.field {
                label for="f-preset" { "preset" }
                select #f-preset name="preset" data-default="" {
                    option value="" selected[chosen.is_empty()] { "(defaults)" }
                    @for p in presets.of(entry.name) {
                        option value=(p.name) selected[chosen == p.name] title=(p.about) { (p.name) }
                    }
                }
                span.help { "Start from a preset (its file is the run's --config)." }
            }
            @for p in entry.table.iter().filter(|p| p.kind != Kind::Path) {
                (field(entry, p, state))
            }
            @if mode == "study" { noscript { button type="submit" { "Run" } } } @else { button type="submit" { "Start" } }
        }
    }
}

fn field(entry: &Entry, p: &Param, state: &FormState<'_>) -> Markup {
    let key = p.key();
    let base = shown_value(state.base, &key);
    let default = shown_value(&entry.defaults, &key);
    let typed = state.request.get(p.name);
    let value = typed.map_or(base.clone(), str::to_string);
    let id = format!("f-{}", p.name);
    let error = state.error.filter(|e| e.field.as_deref() == Some(p.name)).map(|e| e.message.as_str());
    let shown_default = if default.is_empty() { "off".to_string() } else { default.clone() };
    html! {
        div.field.invalid[error.is_some()] data-param=(p.name) {
            label for=(id) { (p.name) }
            @match p.kind {
                Kind::Bool => {
                    input #(id) .switch type="checkbox" name=(p.name) value="true"
                        checked[value == "true"] data-default=(base);
                }
                Kind::Choice(words) => {
                    select #(id) name=(p.name) data-default=(base) {
                        @for w in words { option value=(w) selected[value == *w] { (w) } }
                    }
                }
                _ => {
                    @let number = |s: &str| s.trim().parse::<f64>().ok();
                    @if let Some((lo, hi, step)) = slider(p, number(&default).unwrap_or(0.0), number(&value)) {
                        input .slider type="range" data-for=(id) min=(lo) max=(hi) step=(step)
                            value=(number(&value).unwrap_or(lo)) aria-label={ (p.name) " slider" };
                    }
                    input #(id) type="text" name=(p.name) value=(value) data-default=(base)
                        placeholder=[p.optional.then_some("off")] spellcheck="false" autocomplete="off";
                }
            }
            span.help { (p.help) " Default " code { (shown_default) } "; " (p.allowed()) "." }
            span.err data-for=(p.name) { @if let Some(e) = error { (e) } }
        }
    }
}
