//! The durable store: the only state of a node that survives a crash and restart, as a disk
//! would.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A node's durable key-value store. Values are kept serialized (bincode), as on a disk, so a
/// restarted node reads back exactly the bytes it wrote.
#[derive(Clone, Default)]
pub struct Durable(Rc<RefCell<BTreeMap<String, Vec<u8>>>>);

/// A durable value that could not be read back as the asked type.
#[derive(Debug, thiserror::Error)]
#[error("durable key '{key}' does not hold the asked type: {source}")]
pub struct DurableError {
    /// The key.
    pub key: String,
    /// The decoding error.
    pub source: bincode::error::DecodeError,
}

impl Durable {
    /// Stores `value` under `key`, replacing what was there.
    pub fn put<T: Serialize>(&self, key: &str, value: &T) {
        let bytes = crate::wire::encode(value);
        self.0.borrow_mut().insert(key.to_string(), bytes);
    }

    /// Reads the value under `key`, if any.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, DurableError> {
        let store = self.0.borrow();
        let Some(bytes) = store.get(key) else { return Ok(None) };
        crate::wire::decode(bytes).map(Some).map_err(|source| DurableError { key: key.to_string(), source })
    }

    /// Removes `key`; true if it was there.
    pub fn remove(&self, key: &str) -> bool {
        self.0.borrow_mut().remove(key).is_some()
    }

    /// Every key, in order.
    pub fn keys(&self) -> Vec<String> {
        self.0.borrow().keys().cloned().collect()
    }

    /// Bytes stored, keys included.
    pub fn size(&self) -> usize {
        self.0.borrow().iter().map(|(k, v)| k.len() + v.len()).sum()
    }
}
