//! Node identities: the small integer every message, metric and trace line names a node by.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A node's identity within one simulation: its index in the order nodes were added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub(crate) u32);

impl NodeId {
    /// The node added in position `index` (0-based).
    pub const fn from_index(index: usize) -> Self {
        NodeId(index as u32)
    }

    /// Position of the node in the order it was added.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}
