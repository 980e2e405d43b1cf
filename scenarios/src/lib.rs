//! faultline's scenarios: each binary takes parameters, runs a study, and prints or writes its
//! report. Shared helpers live here.

pub mod rss;
