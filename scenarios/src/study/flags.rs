//! The command line of a study, made from its parameter table and the flags every study shares
//! (clap's builder API): parsing, flags over config over defaults, and the modes' rules (which
//! flags a sweep or a merge refuses).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use faultline_faults::ControlSource;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::config::{read_limited, settings};
use super::limits::{LIMIT_PARAMS, RunLimits};
use super::param::{Kind, Param};
use crate::cli::InputError;
use crate::sweep::{Grid, Shard, Sweep};

/// How a study's command line ended before running: help or version text (exit 0), or bad
/// input (exit 2).
#[derive(Debug)]
pub enum Refusal {
    /// `--help` or `--version`: print this and exit 0.
    Info(String),
    /// Bad input: print `error: ...` and exit 2.
    Input(InputError),
}

impl From<InputError> for Refusal {
    fn from(e: InputError) -> Self {
        Refusal::Input(e)
    }
}

/// What every study's command line has besides its own parameters.
#[derive(Debug, Clone, Default)]
pub struct Common {
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// `--json`: one JSON object on stdout.
    pub json: bool,
    /// `--out DIR`.
    pub out: Option<PathBuf>,
    /// `--trace-json FILE`.
    pub trace_json: Option<PathBuf>,
    /// `--trace-chrome FILE`.
    pub trace_chrome: Option<PathBuf>,
    /// `--control stdin|unix:PATH`.
    pub control: Option<ControlSource>,
    /// `--realtime X`.
    pub realtime: Option<f64>,
    /// `--sweep NAME=VALUES`, repeated: the grid of every combination.
    pub sweep: Option<Grid>,
    /// `--measure NAME`: what a sweep's report and diagram show (default: the verdict).
    pub measure: Option<String>,
    /// `--seeds N`.
    pub seeds: u64,
    /// `--shard I/N`.
    pub shard: Option<Shard>,
    /// `--merge FILE...`.
    pub merge: Vec<PathBuf>,
    /// The limit flags.
    pub limits: RunLimits,
}

/// The most `--merge` files.
pub const MAX_MERGE_FILES: usize = 100_000;

fn value_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Duration { .. } => "DURATION",
        Kind::Float { .. } => "NUMBER",
        Kind::Int { .. } => "N",
        Kind::Bool => "",
        Kind::Choice(_) => "WORD",
        Kind::Path => "FILE",
        Kind::Text(_) => "TEXT",
    }
}

fn shown_default(v: &Value) -> String {
    match v {
        Value::Null => "off".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The flag of one parameter; `defaults` is the JSON of the study's default parameters.
pub fn param_arg(p: &Param, defaults: &Value) -> Arg {
    let default = defaults.get(p.key()).map(shown_default);
    let arg = Arg::new(p.name).long(p.name);
    if p.kind == Kind::Bool {
        return arg.action(ArgAction::SetTrue).help(p.help);
    }
    let default = default.map_or(String::new(), |d| format!(" [default: {d}]"));
    let arg = arg.value_name(value_name(p.kind)).help(format!("{}{default} [allowed: {}]", p.help, p.allowed()));
    let arg = match p.bare {
        // Alone it means `value`; a value it takes may not start with a dash, or the next
        // flag would be read as its value.
        Some(value) => arg.num_args(0..=1).default_missing_value(value),
        None => arg.num_args(1).allow_hyphen_values(true),
    };
    if p.repeatable { arg.action(ArgAction::Append) } else { arg }
}

fn flag(name: &'static str, value: &'static str, help: &'static str) -> Arg {
    Arg::new(name).long(name).value_name(value).num_args(1).allow_hyphen_values(true).help(help)
}

/// The study's command: its parameters, then the flags every study shares.
pub fn command(name: &'static str, about: &'static str, table: &[Param], defaults: &Value) -> Command {
    let limits = serde_json::to_value(RunLimits::default()).unwrap_or(Value::Null);
    Command::new(name)
        .version(env!("CARGO_PKG_VERSION"))
        .args_override_self(true)
        .about(about)
        .after_help(
            "Durations take units: 500ms, 3s, 2m. Optional values take 'off'. Flags override --config, which overrides the defaults.\nExit codes: 0 done, 1 the run failed, 2 bad input, 3 a limit stopped the run (its report is incomplete), 130/143 interrupted.",
        )
        .arg(flag("config", "FILE", "TOML file of parameters (the flags' names in snake_case); flags override it."))
        .args(table.iter().map(|p| param_arg(p, defaults)))
        .arg(Arg::new("json").long("json").action(ArgAction::SetTrue).help("Print one JSON object on stdout and nothing else."))
        .arg(flag("out", "DIR", "Write report.html, summary.json, windows.csv, the charts (.svg) and faults.txt into this folder."))
        .arg(flag("trace-json", "FILE", "Write a JSON-lines trace (virtual time and node on every line)."))
        .arg(flag("trace-chrome", "FILE", "Write a Chrome trace-event file (open it in ui.perfetto.dev)."))
        .arg(flag("control", "stdin|unix:PATH", "Read live fault commands from stdin or a unix socket."))
        .arg(flag("realtime", "X", "Pace virtual time at X times wall time (for live runs) [allowed: a number > 0 and <= 1000000]."))
        .arg(flag("sweep", "SPEC", "Run once per value and find the tipping point: NAME=FROM:TO:STEP or NAME=A,B,C (e.g. spike-rps=250:450:25, seed=1,2,3). Repeat it to sweep every combination (a grid; with two, --out draws a phase diagram).").action(ArgAction::Append))
        .arg(flag("measure", "NAME", "What a sweep's report and diagram show: 'verdict' (the default, when the study has one) or one of the measures of its rows."))
        .arg(flag("seeds", "N", "Runs per sweep value, with seeds --seed, --seed + 1, ... [default: 1]"))
        .arg(flag("shard", "I/N", "Run only shard I of N of the sweep and print its rows as JSON lines (merge them with --merge)."))
        .arg(Arg::new("merge").long("merge").value_name("FILE").num_args(1..).action(ArgAction::Append).help("Merge the JSON-lines outputs of every shard of a sweep and report the whole sweep."))
        .args(LIMIT_PARAMS.iter().map(|p| param_arg(p, &limits)))
}

fn given(m: &ArgMatches, id: &str) -> bool {
    m.value_source(id) == Some(ValueSource::CommandLine)
}

fn text<'a>(m: &'a ArgMatches, id: &str) -> Option<&'a str> {
    m.get_one::<String>(id).map(String::as_str)
}

/// Fills `T` from the defaults, then `config` settings, then the flags in `m`, every value
/// checked by its parameter.
pub fn fill<T: Serialize + DeserializeOwned + Default>(
    table: &[Param],
    config: Option<&[super::config::Setting]>,
    m: &ArgMatches,
) -> Result<T, InputError> {
    let mut json = serde_json::to_value(T::default()).map_err(|e| InputError(e.to_string()))?;
    let Value::Object(fields) = &mut json else { return Err(InputError("parameters are not a struct".into())) };
    for s in config.unwrap_or_default() {
        fields.insert(table[s.param].key(), s.value.clone());
    }
    for p in table.iter().filter(|p| given(m, p.name)) {
        let value = if p.kind == Kind::Bool {
            Value::Bool(m.get_flag(p.name))
        } else if p.repeatable {
            let given: Vec<&str> = m.get_many::<String>(p.name).into_iter().flatten().map(String::as_str).collect();
            p.parse(&given.join(","), &p.flag()).map_err(InputError)?
        } else {
            p.parse(text(m, p.name).unwrap_or_default(), &p.flag()).map_err(InputError)?
        };
        fields.insert(p.key(), value);
    }
    serde_json::from_value(json).map_err(|e| InputError(format!("parameters: {e}")))
}

/// Sets parameter `name` of `params` to `value` (as written on the command line), for sweeps;
/// `origin` starts the error message.
pub fn set<T: Serialize + DeserializeOwned>(
    table: &[Param],
    params: &T,
    name: &str,
    value: &str,
    origin: &str,
) -> Result<T, InputError> {
    let p = sweepable(table, name)?;
    let mut json = serde_json::to_value(params).map_err(|e| InputError(e.to_string()))?;
    if let Value::Object(fields) = &mut json {
        fields.insert(p.key(), p.parse(value, origin).map_err(InputError)?);
    }
    serde_json::from_value(json).map_err(|e| InputError(format!("{origin}: {e}")))
}

/// The sweepable parameter `name`, or an error that lists them.
pub fn sweepable<'a>(table: &'a [Param], name: &str) -> Result<&'a Param, InputError> {
    table.iter().find(|p| p.name == name && p.sweepable).ok_or_else(|| {
        let names: Vec<&str> = table.iter().filter(|p| p.sweepable).map(|p| p.name).collect();
        InputError(format!("--sweep: no sweepable parameter '{name}' (allowed: {})", names.join(", ")))
    })
}

/// Parses a study's command line: its parameters (flags over `--config` over defaults) and the
/// shared flags, with each mode's rules checked.
pub fn parse<T: Serialize + DeserializeOwned + Default>(
    name: &'static str,
    about: &'static str,
    table: &[Param],
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
) -> Result<(Common, T), Refusal> {
    let defaults = serde_json::to_value(T::default()).unwrap_or(Value::Null);
    let m = match command(name, about, table, &defaults).try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
            let message = e.render().to_string();
            return Err(match e.kind() {
                DisplayHelp | DisplayVersion => Refusal::Info(message),
                _ => Refusal::Input(InputError(
                    message.trim().trim_start_matches("error: ").lines().next().unwrap_or("").to_string(),
                )),
            });
        }
    };
    let limits: RunLimits = fill(&LIMIT_PARAMS, None, &m)?;
    let mut common = Common { limits, seeds: 1, ..Common::default() };
    common.config = text(&m, "config").map(PathBuf::from);
    common.json = m.get_flag("json");
    common.out = text(&m, "out").map(PathBuf::from);
    common.trace_json = text(&m, "trace-json").map(PathBuf::from);
    common.trace_chrome = text(&m, "trace-chrome").map(PathBuf::from);
    common.control = text(&m, "control")
        .map(|s| s.parse::<ControlSource>().map_err(|e| InputError(format!("--control '{s}': {e}"))))
        .transpose()?;
    if let Some(s) = text(&m, "realtime") {
        let x: f64 = s.trim().parse().map_err(|_| InputError(format!("--realtime: not a number '{s}'")))?;
        if !(x.is_finite() && x > 0.0 && x <= 1e6) {
            return Err(
                InputError(format!("--realtime: out of range '{s}' (allowed: a number > 0 and <= 1000000)")).into()
            );
        }
        common.realtime = Some(x);
    }
    if let Some(specs) = m.get_many::<String>("sweep") {
        let axes = specs.map(|s| s.parse::<Sweep>()).collect::<Result<Vec<_>, _>>().map_err(InputError)?;
        common.sweep = Some(Grid::new(axes).map_err(InputError)?);
    }
    common.measure = text(&m, "measure").map(String::from);
    if let Some(s) = text(&m, "seeds") {
        common.seeds =
            s.trim().parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                InputError(format!("--seeds: '{s}' (allowed: a whole number from 1 to {})", u64::MAX))
            })?;
    }
    common.shard = text(&m, "shard").map(|s| s.parse::<Shard>().map_err(InputError)).transpose()?;
    common.merge = m.get_many::<String>("merge").map(|v| v.map(PathBuf::from).collect()).unwrap_or_default();
    if common.merge.len() > MAX_MERGE_FILES {
        return Err(InputError(format!("--merge: more than {MAX_MERGE_FILES} files")).into());
    }
    check_modes(&m, &common, table)?;

    let config = match &common.config {
        Some(path) => {
            let text = read_limited(path, "--config", common.limits.max_input_bytes)?;
            Some(settings(table, path, &text)?)
        }
        None => None,
    };
    let params = fill(table, config.as_deref(), &m)?;
    Ok((common, params))
}

/// Refuses flags that the chosen mode would ignore, and outputs that would overwrite each other.
fn check_modes(m: &ArgMatches, c: &Common, table: &[Param]) -> Result<(), InputError> {
    let refuse = |mode: &str, flags: &[&str]| -> Result<(), InputError> {
        match flags.iter().find(|f| given(m, f)) {
            Some(f) => Err(InputError(format!("--{f} would be ignored {mode}: leave it out"))),
            None => Ok(()),
        }
    };
    if !c.merge.is_empty() {
        let mut flags = vec!["sweep", "shard", "seeds", "config", "trace-json", "trace-chrome", "control", "realtime"];
        flags.extend(table.iter().map(|p| p.name));
        refuse("with --merge (it reports the shards' rows as they are)", &flags)?;
    } else if let Some(grid) = &c.sweep {
        refuse("with --sweep", &["trace-json", "trace-chrome", "control", "realtime"])?;
        if c.shard.is_some() {
            refuse("with --shard (a shard prints its rows; --merge reports them)", &["out", "measure"])?;
        }
        for axis in &grid.axes {
            sweepable(table, &axis.key)?;
        }
        if grid.axes.iter().any(|a| a.key == "seed") && c.seeds > 1 {
            return Err(InputError("--seeds cannot be used with --sweep seed=... (the sweep lists the seeds)".into()));
        }
    } else {
        refuse("without --sweep", &["seeds", "shard", "measure"])?;
    }
    let mut outputs: Vec<(&str, PathBuf)> = Vec::new();
    for (f, p) in [("--trace-json", &c.trace_json), ("--trace-chrome", &c.trace_chrome)] {
        if let Some(p) = p {
            outputs.push((f, p.clone()));
        }
    }
    if let Some(dir) = &c.out {
        for name in ["summary.json", "windows.csv", "chart.svg", "faults.txt", "report.html"] {
            outputs.push(("--out", dir.join(name)));
        }
    }
    for (i, (fa, a)) in outputs.iter().enumerate() {
        if let Some((fb, _)) = outputs[i + 1..].iter().find(|(_, b)| same_path(a, b)) {
            return Err(InputError(format!("{fa} and {fb} both write {}: give each its own file", a.display())));
        }
    }
    Ok(())
}

fn same_path(a: &std::path::Path, b: &std::path::Path) -> bool {
    let canon = |p: &std::path::Path| {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()).join(p.file_name().unwrap_or_default())
    };
    a == b || canon(a) == canon(b)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Default, Serialize, Deserialize)]
    #[serde(default)]
    struct P {
        checks: Option<String>,
        name: Option<String>,
    }

    const TABLE: &[Param] = &[
        Param::new("checks", Kind::Text(100), "Checks.").optional().repeatable(),
        Param::new("name", Kind::Text(100), "A name.").optional(),
    ];

    fn parsed(args: &[&str]) -> P {
        let defaults = serde_json::to_value(P::default()).unwrap();
        let m = command("t", "t", TABLE, &defaults).try_get_matches_from([&["t"], args].concat()).unwrap();
        fill(TABLE, None, &m).unwrap()
    }

    #[test]
    fn a_repeatable_flag_joins_its_values_and_another_keeps_the_last() {
        let p = parsed(&["--checks", "a", "--checks", "b,c", "--name", "x", "--name", "y"]);
        assert_eq!((p.checks.as_deref(), p.name.as_deref()), (Some("a,b,c"), Some("y")));
        assert_eq!(parsed(&["--checks", "a"]).checks.as_deref(), Some("a"));
    }
}
