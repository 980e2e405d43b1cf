//! The wire format: how messages and durable values become bytes (bincode, standard config).

use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) const CONFIG: bincode::config::Configuration = bincode::config::standard();

/// Serializes `value`. Serde types always encode; a type whose `Serialize` fails (a custom impl
/// that returns an error) is a bug in that type, reported here.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, CONFIG)
        .unwrap_or_else(|e| panic!("faultline: a message type failed to serialize: {e}"))
}

/// Deserializes a whole buffer; trailing bytes are an error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, bincode::error::DecodeError> {
    let (value, read) = bincode::serde::decode_from_slice(bytes, CONFIG)?;
    if read != bytes.len() {
        return Err(bincode::error::DecodeError::OtherString(format!(
            "{} trailing bytes after the message",
            bytes.len() - read
        )));
    }
    Ok(value)
}
