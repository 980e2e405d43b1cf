//! metastable: when do retry storms keep a system down after the trigger is gone, and which
//! defence brings it back? Its parameters come from the study's table (flags over
//! `--config FILE.toml` over the defaults); everything else is the shared study command line.

use std::process::ExitCode;

use faultline_scenarios::metastable::params::Metastable;
use faultline_scenarios::study;

fn main() -> ExitCode {
    study::run::main::<Metastable>()
}
