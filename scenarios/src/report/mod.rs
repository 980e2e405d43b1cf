//! Report writers every study shares: JSON, CSV, SVG charts (one plot, or panels on a shared
//! time axis), the HTML page, and the `--out DIR` folder.

pub mod chart;
pub mod csv;
pub mod html;
pub mod panels;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

pub use chart::{Chart, Line};
pub use html::{Figure, Page, Table};
pub use panels::{Band, Panel, Panels, Scale, Series};

/// The `--out DIR` folder of a run.
pub struct OutDir {
    dir: PathBuf,
}

impl OutDir {
    /// Creates the folder (and its parents) if needed.
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("--out {}: cannot create the folder", dir.display()))?;
        Ok(OutDir { dir: dir.to_path_buf() })
    }

    /// Writes `name` in the folder, whole or not at all.
    pub fn write(&self, name: &str, contents: &[u8]) -> Result<PathBuf> {
        let path = self.dir.join(name);
        crate::study::output::write_atomic(&path, contents)?;
        Ok(path)
    }

    /// Writes `value` as pretty JSON.
    pub fn json(&self, name: &str, value: &impl serde::Serialize) -> Result<PathBuf> {
        let mut text = serde_json::to_string_pretty(value)?;
        text.push('\n');
        self.write(name, text.as_bytes())
    }
}
