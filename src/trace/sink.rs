//! Where a writer's bytes go. A file is written under a temporary name beside it
//! (`NAME.partial`) and renamed at the end, so it exists whole or not at all; a writer dropped
//! without being finished removes its partial file.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use super::{TraceError, TraceSink};

/// An open output: standard error, a memory buffer, or a partial file to rename at the end.
pub(crate) struct Sink {
    w: Option<Box<dyn Write + Send>>,
    /// What error messages call it: the final path, `stderr` or `memory`.
    name: String,
    /// For a file: (partial name, final name).
    rename: Option<(PathBuf, PathBuf)>,
    error: Option<io::Error>,
    /// Set once finished: `None` if it went well, else the first error's kind and text.
    done: Option<Option<(io::ErrorKind, String)>>,
}

impl Sink {
    /// Opens `sink`; a file is created under its partial name.
    pub(crate) fn open(sink: &TraceSink) -> Result<Self, TraceError> {
        let (w, name, rename): (Box<dyn Write + Send>, String, _) = match sink {
            TraceSink::File(path) => {
                let mut partial = OsString::from(path.as_os_str());
                partial.push(".partial");
                let partial = PathBuf::from(partial);
                let file = File::create(&partial)
                    .map_err(|source| TraceError::Io { path: path.display().to_string(), source })?;
                (Box::new(BufWriter::new(file)), path.display().to_string(), Some((partial, path.clone())))
            }
            TraceSink::Stderr => (Box::new(io::stderr()), "stderr".to_string(), None),
            TraceSink::Memory(buf) => (Box::new(buf.clone()), "memory".to_string(), None),
        };
        Ok(Sink { w: Some(w), name, rename, error: None, done: None })
    }

    /// Whether [`Sink::finish`] has run: nothing more is written.
    pub(crate) fn is_done(&self) -> bool {
        self.done.is_some()
    }

    /// Writes `text`, unless finished or failed (the first error is kept for `finish`).
    pub(crate) fn write(&mut self, text: &str) {
        if self.error.is_some() {
            return;
        }
        if let Some(w) = &mut self.w
            && let Err(e) = w.write_all(text.as_bytes())
        {
            self.error = Some(e);
        }
    }

    /// Flushes, closes and (for a file) renames the partial file to its name; on an error the
    /// partial file is removed. Idempotent: a second call returns the first call's outcome.
    pub(crate) fn finish(&mut self) -> Result<(), TraceError> {
        if self.done.is_none() {
            let mut result = match self.w.take() {
                Some(mut w) => match self.error.take() {
                    Some(e) => Err(e),
                    None => w.flush(),
                },
                None => Ok(()),
            };
            if let Some((partial, path)) = self.rename.take() {
                result = result.and_then(|()| std::fs::rename(&partial, &path));
                if result.is_err() {
                    let _ = std::fs::remove_file(&partial);
                }
            }
            self.done = Some(result.err().map(|e| (e.kind(), e.to_string())));
        }
        match &self.done {
            Some(Some((kind, text))) => {
                Err(TraceError::Io { path: self.name.clone(), source: io::Error::new(*kind, text.clone()) })
            }
            _ => Ok(()),
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        // Never finished: the file is not whole, so it is not left behind.
        if let Some((partial, _)) = self.rename.take() {
            self.w = None;
            let _ = std::fs::remove_file(partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_cannot_be_created_is_an_error_naming_it() {
        let path = std::env::temp_dir().join("faultline-no-such-dir").join("t.json");
        let err = Sink::open(&TraceSink::File(path.clone())).err().unwrap();
        assert!(err.to_string().starts_with(&format!("cannot write trace {}", path.display())), "{err}");
    }

    #[test]
    fn finish_is_idempotent_and_later_writes_are_ignored() {
        let buf = super::super::TraceBuffer::default();
        let mut sink = Sink::open(&TraceSink::Memory(buf.clone())).unwrap();
        sink.write("a");
        sink.finish().unwrap();
        sink.write("b");
        sink.finish().unwrap();
        assert_eq!(buf.contents(), b"a");
    }
}
