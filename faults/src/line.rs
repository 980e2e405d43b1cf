//! Splits a byte stream into lines of bounded length, for live control: a line longer than the
//! limit is reported once and discarded up to its newline, bytes that are not UTF-8 are
//! reported, and a line with no newline at the end of the stream is discarded, never acted on.
//! Memory stays within the limit whatever the input.

/// One line of input, as the splitter saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A whole line, without its newline (nor a `\r` before it).
    Text(String),
    /// A whole line whose bytes are not UTF-8; `at` is the offset of the first bad byte.
    NotUtf8 {
        /// Offset of the first invalid byte.
        at: usize,
    },
    /// A line longer than the limit: reported when it passes the limit, then discarded up to
    /// its newline.
    TooLong,
}

/// Cuts bytes into [`Line`]s, holding at most `max` bytes of an unfinished line.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    max: usize,
    buf: Vec<u8>,
    /// Inside a line that passed the limit: skip to its newline.
    skipping: bool,
}

impl LineSplitter {
    /// A splitter for lines of at most `max` bytes (not counting the newline).
    pub(crate) fn new(max: usize) -> Self {
        LineSplitter { max, buf: Vec::new(), skipping: false }
    }

    /// Takes the next bytes of the stream; appends every line they complete (or pass the limit
    /// with) to `out`.
    pub(crate) fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<Line>) {
        while !bytes.is_empty() {
            let (segment, newline) = match bytes.iter().position(|&b| b == b'\n') {
                Some(i) => (&bytes[..i], true),
                None => (bytes, false),
            };
            bytes = &bytes[(segment.len() + usize::from(newline))..];
            if !self.skipping {
                if self.buf.len() + segment.len() > self.max {
                    self.buf.clear();
                    self.skipping = true;
                    out.push(Line::TooLong);
                } else {
                    self.buf.extend_from_slice(segment);
                }
            }
            if newline {
                if !self.skipping {
                    out.push(self.decode());
                }
                self.buf.clear();
                self.skipping = false;
            }
        }
    }

    /// The end of the stream: discards an unfinished line. True when there was one.
    pub(crate) fn finish(&mut self) -> bool {
        let partial = !self.buf.is_empty() || self.skipping;
        self.buf.clear();
        self.skipping = false;
        partial
    }

    fn decode(&self) -> Line {
        let bytes = self.buf.strip_suffix(b"\r").unwrap_or(&self.buf);
        match std::str::from_utf8(bytes) {
            Ok(text) => Line::Text(text.to_string()),
            Err(e) => Line::NotUtf8 { at: e.valid_up_to() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split(max: usize, chunks: &[&[u8]]) -> (Vec<Line>, bool) {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, &mut out);
        }
        (out, s.finish())
    }

    #[test]
    fn lines_across_chunks_long_lines_bad_bytes_and_a_partial_end() {
        let (lines, partial) =
            split(8, &[b"sta", b"tus\r\nabc", b"defghijkl", b"mnop\n", b"\xff\xfeok\nheal\n", b"crash a"]);
        assert_eq!(
            lines,
            vec![Line::Text("status".into()), Line::TooLong, Line::NotUtf8 { at: 0 }, Line::Text("heal".into()),]
        );
        assert!(partial, "'crash a' had no newline: discarded");
        assert_eq!(split(4, &[b"1234\n"]).0, vec![Line::Text("1234".into())], "the limit itself is allowed");
    }

    proptest! {
        // Whatever the bytes and however they are chunked: the buffer stays within the limit,
        // and every newline ends exactly one line (or the long line it ends was reported).
        #[test]
        fn any_bytes_in_any_chunks_stay_bounded(bytes in proptest::collection::vec(any::<u8>(), 0..2000), cut in 1usize..64, max in 1usize..100) {
            let mut s = LineSplitter::new(max);
            let mut out = Vec::new();
            for chunk in bytes.chunks(cut) {
                s.feed(chunk, &mut out);
                prop_assert!(s.buf.len() <= max);
            }
            let newlines = bytes.iter().filter(|&&b| b == b'\n').count();
            let reported = out.iter().filter(|l| !matches!(l, Line::TooLong)).count();
            prop_assert!(reported <= newlines);
            prop_assert!(out.len() <= newlines + 1 + bytes.len() / (max + 1));
            for l in &out {
                if let Line::Text(t) = l {
                    prop_assert!(t.len() <= max && !t.contains('\n'));
                }
            }
        }
    }
}
