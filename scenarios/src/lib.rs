//! faultline's scenarios: each study binary takes parameters (flags over a TOML config over
//! defaults), runs, and prints or writes its report. What every study shares lives here: the
//! fault flags, input errors, and the report writers.

#![warn(missing_docs)]

pub mod cap;
pub mod cli;
pub mod crdt;
pub mod csi;
pub mod metastable;
pub mod report;
pub mod rss;
pub mod serve;
pub mod study;
pub mod sweep;
