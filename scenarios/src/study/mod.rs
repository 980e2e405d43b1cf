//! What every study shares behind one small interface: its parameters declared once as a table
//! ([`param`]), from which come its flags, config keys, checks and sweepable names
//! ([`flags`], [`config`]); the limits of a run ([`limits`]); and output that is written whole
//! or not at all ([`output`]). A study implements [`Study`] and writes only what is its own.

pub mod config;
pub mod flags;
pub mod interrupt;
pub mod limits;
pub mod output;
pub mod param;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use flags::{Common, Refusal};
pub use limits::{EXIT_LIMIT, RunLimits};
pub use param::{Kind, Param};

use crate::cli::InputError;

/// A study: its name, its parameter table, and the checks that relate one parameter to another.
pub trait Study {
    /// The parameters: a plain serde type whose fields are the table's keys.
    type Params: Serialize + DeserializeOwned + Default + Clone;
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
        Ok((common, params))
    }

    /// `params` with parameter `name` set to `value` (a sweep's job), checked again.
    fn set(params: &Self::Params, name: &str, value: &str, limits: &RunLimits) -> Result<Self::Params, InputError> {
        let origin = format!("--sweep {name}={value}");
        let p = flags::set(Self::table(), params, name, value, &origin)?;
        Self::check(&p, limits).map_err(|e| InputError(format!("{origin}: {}", e.0)))?;
        Ok(p)
    }
}
