//! The presets of each study (`presets/<study>/*.toml`), read once when the server starts: a
//! missing or unreadable folder leaves a study without presets, never the server without a
//! page. A page names a preset by its name only; its file is the `--config` of the run.

use std::path::{Path, PathBuf};

/// The most presets read per study, and the largest preset file.
const MAX_PRESETS: usize = 200;
const MAX_PRESET_BYTES: u64 = 64 << 10;

/// One preset.
#[derive(Clone, Debug, PartialEq)]
pub struct Preset {
    /// Its name: the file name without `.toml`.
    pub name: String,
    /// The file, as the server reads it.
    pub path: PathBuf,
    /// The file as the command line shown on the page names it.
    pub shown: String,
    /// Its opening comment, in one paragraph.
    pub about: String,
}

/// Every study's presets.
#[derive(Clone, Debug, Default)]
pub struct Presets {
    by_study: Vec<(String, Vec<Preset>)>,
}

impl Presets {
    /// Reads `dir/<study>/*.toml` for each of `studies`, in name order. Folders that are missing
    /// give no presets, and a warning on stderr.
    pub fn read(dir: &Path, studies: &[&str]) -> Presets {
        let mut by_study = Vec::new();
        for study in studies {
            let folder = dir.join(study);
            let mut presets = Vec::new();
            match std::fs::read_dir(&folder) {
                Ok(entries) => {
                    let mut files: Vec<PathBuf> = entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                        .collect();
                    files.sort();
                    for path in files.into_iter().take(MAX_PRESETS) {
                        if let Some(p) = preset(&path, study) {
                            presets.push(p);
                        }
                    }
                }
                Err(e) => eprintln!("warning: no presets for {study}: {}: {e}", folder.display()),
            }
            by_study.push((study.to_string(), presets));
        }
        Presets { by_study }
    }

    /// The presets of `study`.
    pub fn of(&self, study: &str) -> &[Preset] {
        self.by_study.iter().find(|(s, _)| s == study).map_or(&[], |(_, p)| p.as_slice())
    }

    /// The preset `name` of `study`.
    pub fn find(&self, study: &str, name: &str) -> Option<&Preset> {
        self.of(study).iter().find(|p| p.name == name)
    }

    /// The names of `study`'s presets.
    pub fn names(&self, study: &str) -> Vec<&str> {
        self.of(study).iter().map(|p| p.name.as_str()).collect()
    }
}

fn preset(path: &Path, study: &str) -> Option<Preset> {
    let name = path.file_stem()?.to_str()?.to_string();
    let meta = std::fs::metadata(path).ok()?;
    if meta.len() > MAX_PRESET_BYTES {
        eprintln!("warning: preset {} is larger than {MAX_PRESET_BYTES} bytes; left out", path.display());
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let about: Vec<&str> =
        text.lines().take_while(|l| l.starts_with('#')).map(|l| l.trim_start_matches('#').trim()).collect();
    let path = std::fs::canonicalize(path).ok()?;
    Some(Preset { shown: format!("scenarios/presets/{study}/{name}.toml"), name, path, about: about.join(" ") })
}

/// The presets folder of this source tree, if it is still there.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("presets")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_read_by_name_and_a_missing_folder_gives_none() {
        let p = Presets::read(&default_dir(), &["metastable", "nope"]);
        let held = p.find("metastable", "outage-held").expect("the preset is in the repository");
        assert!(held.about.starts_with("Bronson et al."), "{}", held.about);
        assert!(p.of("nope").is_empty());
        assert!(p.find("metastable", "../cap/write-heavy").is_none());
    }
}
