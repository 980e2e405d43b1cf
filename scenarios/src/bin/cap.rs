//! cap: what consistency costs in latency (PACELC) and in availability during a partition
//! (CAP), measured on replicas of the emulated network, and whether the history is
//! linearizable; `cap check FILE` checks an external history. Everything but the study's own
//! parameters and report is the shared study command line.

use std::process::ExitCode;

use faultline_scenarios::cap::Cap;
use faultline_scenarios::study;

fn main() -> ExitCode {
    study::run::main::<Cap>()
}
