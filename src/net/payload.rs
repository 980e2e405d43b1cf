//! The bytes of a message on the wire: kept inline up to [`Payload::INLINE`] bytes, so that a
//! small message costs no heap allocation and its bytes travel inside the queue's slot, and on
//! the heap beyond.

use std::fmt;
use std::ops::Deref;

use serde::Serialize;

/// Inline capacity in bytes: the whole type is 32 bytes, a `Vec` plus one word.
const INLINE: usize = 30;

/// A message's serialized bytes. Reads as a `&[u8]` (it derefs to a slice); build it from a
/// `Vec<u8>` with `into()`, or from a value with [`Payload::encode`]; `into_vec` gives the bytes
/// back as a `Vec`.
#[derive(Clone)]
pub struct Payload(Repr);

#[derive(Clone)]
enum Repr {
    /// `len` bytes at the start of `data`.
    Inline {
        len: u8,
        data: [u8; INLINE],
    },
    Heap(Vec<u8>),
}

impl Payload {
    /// Payloads of at most this many bytes live inline, without a heap allocation.
    pub const INLINE: usize = INLINE;

    /// A copy of `bytes`: inline when it fits.
    pub fn from_slice(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE {
            let mut data = [0; INLINE];
            data[..bytes.len()].copy_from_slice(bytes);
            Payload(Repr::Inline { len: bytes.len() as u8, data })
        } else {
            Payload(Repr::Heap(bytes.to_vec()))
        }
    }

    /// Serializes `value` in the wire format ([`crate::wire`]): straight into the inline buffer
    /// when it fits, else into a heap buffer.
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Self {
        let mut data = [0; INLINE];
        match bincode::serde::encode_into_slice(value, &mut data, crate::wire::CONFIG) {
            Ok(len) => Payload(Repr::Inline { len: len as u8, data }),
            // Too big for the inline buffer (or a failing `Serialize`, which `encode` reports).
            Err(_) => Payload(Repr::Heap(crate::wire::encode(value))),
        }
    }

    /// True when the bytes live inline (no heap allocation).
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }

    /// The bytes as a `Vec` (allocates for an inline payload).
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Repr::Inline { len, data } => data[..usize::from(len)].to_vec(),
            Repr::Heap(v) => v,
        }
    }

    /// Heap bytes this payload holds (0 when inline).
    pub fn heap_bytes(&self) -> usize {
        match &self.0 {
            Repr::Inline { .. } => 0,
            Repr::Heap(v) => v.capacity(),
        }
    }
}

impl Deref for Payload {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, data } => &data[..usize::from(*len)],
            Repr::Heap(v) => v,
        }
    }
}

impl AsRef<[u8]> for Payload {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<Vec<u8>> for Payload {
    /// Takes the vector as it is; a short one is copied inline and its buffer freed.
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= INLINE { Payload::from_slice(&v) } else { Payload(Repr::Heap(v)) }
    }
}

impl From<&[u8]> for Payload {
    fn from(bytes: &[u8]) -> Self {
        Payload::from_slice(bytes)
    }
}

impl Default for Payload {
    fn default() -> Self {
        Payload::from_slice(&[])
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Payload {}

impl PartialEq<[u8]> for Payload {
    fn eq(&self, other: &[u8]) -> bool {
        **self == *other
    }
}

impl PartialEq<Vec<u8>> for Payload {
    fn eq(&self, other: &Vec<u8>) -> bool {
        **self == **other
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_as_small_as_a_vec_and_a_word() {
        assert!(std::mem::size_of::<Payload>() <= 32, "{}", std::mem::size_of::<Payload>());
    }

    #[test]
    fn inline_and_heap_payloads_round_trip() {
        for len in [0, 1, INLINE - 1, INLINE, INLINE + 1, 1000] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let p = Payload::from(bytes.clone());
            assert_eq!(p.is_inline(), len <= INLINE, "len {len}");
            assert_eq!(&*p, &bytes[..]);
            assert_eq!(p.len(), len);
            assert_eq!(p.heap_bytes() == 0, len <= INLINE);
            assert_eq!(p.clone(), p);
            assert_eq!(Payload::from_slice(&bytes), p);
            assert_eq!(p.into_vec(), bytes);
        }
    }

    #[test]
    fn encode_matches_the_wire_format_inline_or_not() {
        let small = (7u64, "ab".to_string());
        let big = vec![0xABCD_u32; 40];
        let (s, b) = (Payload::encode(&small), Payload::encode(&big));
        assert!(s.is_inline());
        assert!(!b.is_inline());
        assert_eq!(&*s, &crate::wire::encode(&small)[..]);
        assert_eq!(&*b, &crate::wire::encode(&big)[..]);
        assert_eq!(crate::wire::decode::<(u64, String)>(&s).unwrap(), small);
        assert_eq!(crate::wire::decode::<Vec<u32>>(&b).unwrap(), big);
    }

    #[test]
    fn a_value_of_exactly_the_inline_size_stays_inline() {
        // A byte string of 29 bytes encodes as a 1-byte length and 29 bytes: 30 in all.
        let exact = vec![1u8; INLINE - 1];
        let p = Payload::encode(&exact);
        assert_eq!(p.len(), INLINE);
        assert!(p.is_inline());
        let over = vec![1u8; INLINE];
        assert!(!Payload::encode(&over).is_inline());
    }
}
