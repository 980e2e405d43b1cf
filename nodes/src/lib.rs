//! The actors of faultline's studies: servers, clients, replicas. Each study is one module; none
//! knows about command lines or reports.

#![warn(missing_docs)]

pub mod cap;
pub mod crdt;
pub mod csi;
pub mod metastable;
