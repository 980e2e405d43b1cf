//! What every study shares behind one small interface: its parameters declared once as a table
//! ([`param`]), from which come its flags, config keys, checks and sweepable names
//! ([`flags`], [`config`]); the limits of a run ([`limits`]); and output that is written whole
//! or not at all ([`output`]); the report page of a run ([`page`]); and the binary itself
//! ([`run`]: one run, sweeps, shards, merges, exit codes). A study implements [`Study`] and
//! writes only what is its own; what its page adds (explanation, charts, tables, experiments)
//! has defaults, so a study that adds nothing still gets a page.

pub mod config;
pub mod drive;
pub mod fault_window;
pub mod flags;
pub mod interrupt;
pub mod limits;
pub mod output;
pub mod page;
pub mod param;
pub mod run;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use flags::{Common, Refusal};
pub use limits::{EXIT_LIMIT, RunLimits};
pub use param::{Kind, Param};

pub use run::{RunId, Speed, SweepRow};

use crate::cli::{FaultArgs, InputError, TraceArgs};
use crate::report::{Figure, Table};

/// A study: its name, its parameter table, the checks that relate one parameter to another,
/// and what is its own in a run (the run, its report, its files) and in a sweep (a row per run,
/// the table of them). Everything else a study binary does is in [`run`].
pub trait Study {
    /// The parameters: a plain serde type whose fields are the table's keys.
    type Params: Serialize + DeserializeOwned + Default + Clone + Sync;
    /// What one run found: the `--json` object and `summary.json`.
    type Summary: Serialize;
    /// One run of a sweep, as a shard prints it.
    type Row: SweepRow;
    /// The binary's name.
    const NAME: &'static str;
    /// One line: the question the study answers.
    const ABOUT: &'static str;
    /// Every parameter, declared once.
    fn table() -> &'static [Param];
    /// Checks between parameters (each one alone is already in range), naming the flags.
    fn check(params: &Self::Params, limits: &RunLimits) -> Result<(), InputError>;

    /// Parses the command line `args` (with the program name first): flags over `--config`
    /// over defaults, every value and the relations between them checked.
    fn parse_args(
        args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>,
    ) -> Result<(Common, Self::Params), Refusal> {
        let (common, params) = flags::parse::<Self::Params>(Self::NAME, Self::ABOUT, Self::table(), args)?;
        Self::check(&params, &common.limits)?;
        if common.sweep.is_some() {
            Self::check_sweep(&params)?;
        }
        Ok((common, params))
    }

    /// Refuses parameters that a sweep would ignore (a file only a single run writes).
    fn check_sweep(_params: &Self::Params) -> Result<(), InputError> {
        Ok(())
    }

    /// `params` with parameter `name` set to `value` (a sweep's job), checked again.
    fn set(params: &Self::Params, name: &str, value: &str, limits: &RunLimits) -> Result<Self::Params, InputError> {
        let origin = format!("--sweep {name}={value}");
        let p = flags::set(Self::table(), params, name, value, &origin)?;
        Self::check(&p, limits).map_err(|e| InputError(format!("{origin}: {}", e.0)))?;
        Ok(p)
    }

    /// The master seed of `params`.
    fn seed(params: &Self::Params) -> u64;
    /// `params` with another master seed (a sweep's `--seeds`).
    fn with_seed(params: &Self::Params, seed: u64) -> Self::Params;
    /// One line that says what was run (heads a sweep's table).
    fn describe(params: &Self::Params) -> String;

    /// Runs once: live control and pacing from `live`, traces as `traces` asks, within
    /// `limits`. A run stopped by a limit or a signal still returns its summary, which
    /// [`Study::incomplete`] then explains. Errors are an [`InputError`] for bad input (exit
    /// code 2), or a failure of the run itself.
    fn run(
        params: &Self::Params,
        live: &FaultArgs,
        traces: &TraceArgs,
        limits: &RunLimits,
    ) -> anyhow::Result<(Self::Summary, Speed)>;
    /// Why the run stopped before its end, if it did.
    fn incomplete(summary: &Self::Summary) -> Option<&str>;
    /// The readable report.
    fn text(summary: &Self::Summary) -> String;
    /// The files `--out DIR` writes besides `summary.json`, the charts, `faults.txt` and
    /// `report.html`, by name, in order (`windows.csv`).
    fn files(summary: &Self::Summary) -> Vec<(&'static str, Vec<u8>)>;

    /// What happened, in one line, for the top of the report page. By default the last line of
    /// [`Study::text`] that starts with `verdict:`, else the first line of it.
    fn verdict(summary: &Self::Summary) -> String {
        let text = Self::text(summary);
        let verdict = text.lines().rev().find_map(|l| l.strip_prefix("verdict: "));
        verdict.or_else(|| text.lines().next()).unwrap_or_default().to_string()
    }
    /// "What you are seeing": the mechanism in a few paragraphs (separated by blank lines),
    /// with this run's numbers. Empty by default (the page then has no such section).
    fn explain(_summary: &Self::Summary) -> String {
        String::new()
    }
    /// Experiments to try: a title, and the exact command (prose may follow after a blank
    /// line). None by default.
    fn experiments() -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// The charts of the page, each also written as `NAME.svg`. None by default.
    fn charts(_summary: &Self::Summary) -> Vec<Figure> {
        Vec::new()
    }
    /// The phase or summary tables of the page. None by default.
    fn tables(_summary: &Self::Summary) -> Vec<Table> {
        Vec::new()
    }
    /// The faults that ran as a replayable script (script entries, nemesis-generated faults
    /// and live commands at the virtual instants they applied): `faults.txt`.
    fn faults(_summary: &Self::Summary) -> Option<&str> {
        None
    }
    /// The fault script a random nemesis generated for this run, printed on stderr (when there
    /// is no `--out` to keep it) so that the run can be replayed.
    fn generated_faults<'a>(_params: &Self::Params, _summary: &'a Self::Summary) -> Option<&'a str> {
        None
    }
    /// What a single run does after its report (write a file a parameter asked for).
    fn after_run(_params: &Self::Params, _summary: &Self::Summary) -> anyhow::Result<()> {
        Ok(())
    }

    /// The row of the finished run `id` of a sweep: the id and the study's measures (see
    /// [`crate::sweep::row`] for what a row provides; the table, merge and diagram are shared).
    fn row(id: RunId, summary: &Self::Summary) -> Self::Row;

    /// A subcommand the study has besides its run (`cap check FILE`): given the whole command
    /// line, the exit code if it was one, or `None` to parse the line as a run.
    fn subcommand(_args: &[std::ffi::OsString]) -> Option<std::process::ExitCode> {
        None
    }
}
