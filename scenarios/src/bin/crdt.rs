//! crdt: how fast G-Counter, PN-Counter, OR-Set and LWW-Map replicas converge by gossip over
//! the emulated network, what they lose against a single copy, and how big their state and
//! traffic grow. Everything but the study's own parameters and report is the shared study
//! command line.

use std::process::ExitCode;

use faultline_scenarios::crdt::Crdt;
use faultline_scenarios::study;

fn main() -> ExitCode {
    study::run::main::<Crdt>()
}
