//! csi: how two systems that each pass their own tests fail once connected (schema, encoding,
//! compression config, timeouts, API semantics, numeric types), loudly or silently, and which
//! check before go-live catches it. Everything but the study's own parameters and report is the
//! shared study command line.

use std::process::ExitCode;

use faultline_scenarios::csi::Csi;
use faultline_scenarios::study;

fn main() -> ExitCode {
    study::run::main::<Csi>()
}
