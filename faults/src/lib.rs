//! faultline's fault model, on top of the core's control channel: fault scripts written down,
//! faults generated at random but replayable (the nemesis), and faults typed in while a run is
//! going (live control).
//!
//! ```
//! use faultline_faults::{Resolver, compile, parse_script};
//! use faultline::SimTime;
//! use std::time::Duration;
//!
//! let script = parse_script("at 20s for 10s partition clients | server hold\nat 30s crash replica-2\n").unwrap();
//! let names: Vec<String> = ["client-0", "client-1", "server", "replica-2"].map(String::from).to_vec();
//! let resolver = Resolver::new(&names).alias("clients", "client-*");
//! let timeline = compile(&script, &resolver, 7, SimTime::ZERO + Duration::from_secs(60)).unwrap();
//! assert_eq!(timeline.commands.len(), 3); // the partition, its heal at 30 s, the crash
//! print!("{script}"); // the canonical form, which parses back to the same script
//! ```

#![warn(missing_docs)]

mod line;
pub mod live;
pub mod nemesis;
pub mod parse;
pub mod record;
pub mod refusal;
pub mod schedule;
pub mod script;
pub mod select;
pub mod spans;

pub use live::{ControlSource, DEFAULT_MAX_LINE, LiveControl, LiveLimits, ShutdownHandle};
pub use nemesis::{Nemesis, NemesisError};
pub use parse::{ScriptError, parse_live, parse_script};
pub use record::Recording;
pub use refusal::{Refusal, RefusalLog, RefusedEntry};
pub use schedule::{AfterEnd, DEFAULT_MAX_COMMANDS, Timed, Timeline, compile, compile_limited};
pub use script::{Action, Entry, NodeSet, Pos, Script, Selector, Timing};
pub use select::{Resolver, glob};
pub use spans::{FaultSpan, fault_spans};
