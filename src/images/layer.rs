//! Deterministic layer writer: a file tree becomes one gzip-compressed tar blob in the store.
//!
//! Same input tree → same bytes: entries sorted by path, every parent directory present, numeric
//! owner from the spec, fixed modes (0755 directories and executables, 0644 other files, 0777
//! symlinks), one mtime for everything (`SOURCE_DATE_EPOCH` or 0), no user or group names, and
//! a gzip header without file name or timestamp.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use serde::{Deserialize, Serialize};

use super::elf;
use super::error::ErrorKind;
use super::ignore::{IgnoreRules, host_environment};
use super::spec::Owner;
use super::store::{BlobStore, HashingWriter};

/// A layer blob in the store: compressed digest and size, plus the uncompressed `diff_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerBlob {
    /// Digest of the compressed blob (what manifests list).
    pub digest: String,
    /// Digest of the uncompressed tar (what the config's `rootfs.diff_ids` lists).
    pub diff_id: String,
    /// Compressed size in bytes.
    pub size: u64,
}

/// The content of one layer: image paths (no leading `/`) to entries.
#[derive(Debug, Default)]
pub struct LayerTree {
    entries: BTreeMap<String, Entry>,
    /// Directories a copy left out as the host's environments (see [`host_environment`]):
    /// context-relative path and what it is.
    left_out: Vec<(String, &'static str)>,
}

#[derive(Debug)]
enum Entry {
    Dir,
    File {
        source: PathBuf,
        size: u64,
        executable: bool,
    },
    Symlink(PathBuf),
}

impl LayerTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries (directories included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the tree has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Directories copies left out because they hold the host's environment (a virtualenv,
    /// `node_modules`), with what each is, in the order met.
    pub fn left_out(&self) -> &[(String, &'static str)] {
        &self.left_out
    }

    /// Copy `rel` (a path under `context`) into `dest`, keeping its path relative to the context:
    /// `"."` puts the context's content in `dest`, `"app"` lands at `dest/app`, `"src/x.py"` at
    /// `dest/src/x.py`. Paths excluded by `ignore` (evaluated relative to the context) are left out,
    /// and so is every virtualenv and `node_modules` (see [`LayerTree::left_out`]).
    pub fn add_copy(
        &mut self,
        context: &Path,
        rel: &str,
        dest: &str,
        ignore: &IgnoreRules,
    ) -> Result<(), ErrorKind> {
        let rel = image_path(rel.trim_start_matches("./"));
        let rel = if rel == "." { String::new() } else { rel };
        let source = context.join(&rel);
        let meta = fs::symlink_metadata(&source).map_err(|e| ErrorKind::io("read", &source, e))?;
        let target = join(&image_path(dest), &rel);
        self.add_parents(&target);
        if meta.is_dir() {
            if let Some(what) = host_environment(&source) {
                self.left_out.push((rel, what));
                return Ok(());
            }
            self.add_dir(&target);
            self.walk(&source, &rel, &target, Some(ignore))
        } else if ignore.is_excluded(&rel) {
            Ok(())
        } else {
            self.add_entry(&source, &meta, &target)
        }
    }

    /// Put the whole content of `dir` (e.g. a build step's output) under `dest`.
    pub fn add_dir_contents(&mut self, dir: &Path, dest: &str) -> Result<(), ErrorKind> {
        let dest = image_path(dest);
        self.add_parents(&dest);
        self.add_dir(&dest);
        self.walk(dir, "", &dest, None)
    }

    fn walk(
        &mut self,
        dir: &Path,
        rel: &str,
        dest: &str,
        ignore: Option<&IgnoreRules>,
    ) -> Result<(), ErrorKind> {
        let read = fs::read_dir(dir).map_err(|e| ErrorKind::io("read directory", dir, e))?;
        for item in read {
            let item = item.map_err(|e| ErrorKind::io("read directory", dir, e))?;
            let name = item.file_name().to_string_lossy().into_owned();
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let path = item.path();
            let meta = fs::symlink_metadata(&path).map_err(|e| ErrorKind::io("read", &path, e))?;
            let excluded = ignore.is_some_and(|r| r.is_excluded(&child_rel));
            let child_dest = join(dest, &name);
            if meta.is_dir() {
                // Only copies (which have rules) leave environments out: a step's output is
                // what the step installed for the image.
                if ignore.is_some()
                    && let Some(what) = host_environment(&path)
                {
                    self.left_out.push((child_rel, what));
                    continue;
                }
                // An excluded directory is still walked when `!` rules might re-include its content.
                if excluded && !ignore.is_some_and(IgnoreRules::has_exceptions) {
                    continue;
                }
                let before = self.entries.len();
                self.walk(&path, &child_rel, &child_dest, ignore)?;
                if !excluded || self.entries.len() > before {
                    self.add_dir(&child_dest);
                }
            } else if !excluded {
                self.add_entry(&path, &meta, &child_dest)?;
            }
        }
        Ok(())
    }

    fn add_entry(
        &mut self,
        source: &Path,
        meta: &fs::Metadata,
        dest: &str,
    ) -> Result<(), ErrorKind> {
        let entry = if meta.file_type().is_symlink() {
            let target =
                fs::read_link(source).map_err(|e| ErrorKind::io("read link", source, e))?;
            Entry::Symlink(target)
        } else if meta.is_file() {
            Entry::File {
                source: source.to_owned(),
                size: meta.len(),
                executable: is_executable(meta),
            }
        } else {
            return Err(ErrorKind::io(
                "add to layer",
                source,
                io::Error::new(
                    io::ErrorKind::Unsupported,
                    "not a file, directory or symlink",
                ),
            ));
        };
        self.entries.insert(dest.to_owned(), entry);
        Ok(())
    }

    /// The ELF files in the tree with their `e_machine`, by image path (`/app/deps/x.so`).
    pub fn elf_files(&self) -> Result<Vec<(String, u16)>, ErrorKind> {
        let mut found = Vec::new();
        for (path, entry) in &self.entries {
            let Entry::File { source, size, .. } = entry else {
                continue;
            };
            if *size < 20 {
                continue;
            }
            let mut header = [0u8; 20];
            let mut file = File::open(source).map_err(|e| ErrorKind::io("open", source, e))?;
            io::Read::read_exact(&mut file, &mut header)
                .map_err(|e| ErrorKind::io("read", source, e))?;
            if let Some(machine) = elf::machine(&header) {
                found.push((format!("/{path}"), machine));
            }
        }
        Ok(found)
    }

    fn add_dir(&mut self, path: &str) {
        if !path.is_empty() {
            self.entries.entry(path.to_owned()).or_insert(Entry::Dir);
        }
    }

    fn add_parents(&mut self, path: &str) {
        for (i, _) in path.match_indices('/') {
            self.add_dir(&path[..i]);
        }
        self.add_dir(path);
    }
}

/// Image path without leading or trailing slashes (`/app/deps/` → `app/deps`).
fn image_path(p: &str) -> String {
    p.split('/')
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

fn join(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, _) => name.to_owned(),
        (_, true) => dir.to_owned(),
        _ => format!("{dir}/{name}"),
    }
}

/// Write `tree` as a gzip tar layer into `store`.
pub fn write_layer(
    store: &BlobStore,
    tree: &LayerTree,
    owner: Owner,
    mtime: u64,
) -> Result<LayerBlob, ErrorKind> {
    let blob = store.writer()?;
    let gzip = GzBuilder::new().write(blob, Compression::new(6));
    let mut tar = tar::Builder::new(HashingWriter::new(gzip));
    let tmp = store.tmp_dir();
    let io_err = |e| ErrorKind::io("write layer in", &tmp, e);
    for (path, entry) in &tree.entries {
        append(&mut tar, path, entry, owner, mtime)?;
    }
    let hashing = tar.into_inner().map_err(io_err)?;
    let (diff_id, _, gzip) = hashing.finish();
    let blob = gzip.finish().map_err(io_err)?;
    let (digest, size) = blob.commit(None)?;
    Ok(LayerBlob {
        digest: digest.to_string(),
        diff_id: diff_id.to_string(),
        size,
    })
}

fn append<W: io::Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    entry: &Entry,
    owner: Owner,
    mtime: u64,
) -> Result<(), ErrorKind> {
    let mut header = tar::Header::new_gnu();
    header.set_uid(owner.uid.into());
    header.set_gid(owner.gid.into());
    header.set_mtime(mtime);
    let result = match entry {
        Entry::Dir => {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            tar.append_data(&mut header, format!("{path}/"), io::empty())
        }
        Entry::Symlink(target) => {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_mode(0o777);
            header.set_size(0);
            tar.append_link(&mut header, path, target)
        }
        Entry::File {
            source,
            size,
            executable,
        } => {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(if *executable { 0o755 } else { 0o644 });
            header.set_size(*size);
            let file = File::open(source).map_err(|e| ErrorKind::io("open", source, e))?;
            let reader = io::Read::take(file, *size);
            return tar
                .append_data(&mut header, path, reader)
                .map_err(|e| ErrorKind::io("add to layer", source, e));
        }
    };
    result.map_err(|e| ErrorKind::io("add to layer", path, e))
}

/// Whether the file's mode lets anyone execute it. Windows file systems keep no such bit:
/// there every file enters a layer as 0644 (build images from WSL2 to keep scripts executable).
#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::store::Digest;
    use flate2::read::GzDecoder;
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;

    fn fixture(dir: &Path) {
        fs::create_dir_all(dir.join("src/pkg")).unwrap();
        fs::write(dir.join("src/pkg/b.py"), "b = 2\n").unwrap();
        fs::write(dir.join("src/a.py"), "a = 1\n").unwrap();
        fs::write(dir.join("run.sh"), "#!/bin/sh\necho hi\n").unwrap();
        fs::set_permissions(dir.join("run.sh"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(dir.join("secret.env"), "X=1\n").unwrap();
        std::os::unix::fs::symlink("src/a.py", dir.join("link.py")).unwrap();
    }

    #[test]
    fn layers_are_deterministic_and_normalised() {
        let ctx = tempfile::tempdir().unwrap();
        fixture(ctx.path());
        let store_dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(store_dir.path()).unwrap();
        let ignore = IgnoreRules::new("*.env\n", &[]).unwrap();
        let build = || {
            let mut tree = LayerTree::new();
            tree.add_copy(ctx.path(), ".", "/app/code", &ignore)
                .unwrap();
            write_layer(
                &store,
                &tree,
                Owner {
                    uid: 10001,
                    gid: 10001,
                },
                1_700_000_000,
            )
            .unwrap()
        };
        let first = build();
        // Touching files changes mtimes on disk but not the layer.
        fs::write(ctx.path().join("src/a.py"), "a = 1\n").unwrap();
        assert_eq!(build(), first);

        let bytes = store.read(&Digest::parse(&first.digest).unwrap()).unwrap();
        assert_eq!(
            &bytes[..10],
            &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff],
            "gzip header without name or mtime"
        );
        let mut raw = Vec::new();
        GzDecoder::new(&bytes[..]).read_to_end(&mut raw).unwrap();
        assert_eq!(Digest::of(&raw).to_string(), first.diff_id);

        let mut archive = tar::Archive::new(&raw[..]);
        let listing: Vec<(String, u32, u64, u64, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                    h.mtime().unwrap(),
                )
            })
            .collect();
        let names: Vec<&str> = listing.iter().map(|l| l.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "app/",
                "app/code/",
                "app/code/link.py",
                "app/code/run.sh",
                "app/code/src/",
                "app/code/src/a.py",
                "app/code/src/pkg/",
                "app/code/src/pkg/b.py"
            ]
        );
        let modes: Vec<u32> = listing.iter().map(|l| l.1).collect();
        assert_eq!(
            modes,
            [0o755, 0o755, 0o777, 0o755, 0o755, 0o644, 0o755, 0o644]
        );
        assert!(
            listing
                .iter()
                .all(|l| l.2 == 10001 && l.3 == 10001 && l.4 == 1_700_000_000)
        );
    }

    #[test]
    fn one_changed_file_changes_the_digest() {
        let ctx = tempfile::tempdir().unwrap();
        fixture(ctx.path());
        let store_dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(store_dir.path()).unwrap();
        let layer = || {
            let mut tree = LayerTree::new();
            tree.add_dir_contents(&ctx.path().join("src"), "/app/src")
                .unwrap();
            write_layer(&store, &tree, Owner::ROOT, 0).unwrap()
        };
        let before = layer();
        fs::write(ctx.path().join("src/pkg/b.py"), "b = 3\n").unwrap();
        assert_ne!(layer().digest, before.digest);
    }

    #[test]
    fn copy_keeps_paths_relative_to_the_context() {
        let ctx = tempfile::tempdir().unwrap();
        fixture(ctx.path());
        let mut tree = LayerTree::new();
        let none = IgnoreRules::default();
        tree.add_copy(ctx.path(), "src", "/app", &none).unwrap();
        tree.add_copy(ctx.path(), "./run.sh", "/app", &none)
            .unwrap();
        let names: Vec<&str> = tree.entries.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "app",
                "app/run.sh",
                "app/src",
                "app/src/a.py",
                "app/src/pkg",
                "app/src/pkg/b.py"
            ]
        );
    }

    /// A committed virtualenv (found by its `pyvenv.cfg`, whatever it is named, at any depth)
    /// and `node_modules` never reach a copy, even when a `!` rule re-includes part of them;
    /// the tree says what it left out. A step's output keeps its own.
    #[test]
    fn copies_leave_out_virtualenvs_and_node_modules() {
        let ctx = tempfile::tempdir().unwrap();
        fixture(ctx.path());
        for venv in ["venv", "src/pkg/.python-env"] {
            let dir = ctx.path().join(venv);
            fs::create_dir_all(dir.join("lib/site-packages")).unwrap();
            fs::write(dir.join("pyvenv.cfg"), "home = C:\\Python312\n").unwrap();
            fs::write(dir.join("lib/site-packages/x.py"), "").unwrap();
        }
        fs::create_dir_all(ctx.path().join("src/node_modules/left-pad")).unwrap();
        fs::write(ctx.path().join("src/node_modules/left-pad/index.js"), "").unwrap();
        let rules = IgnoreRules::new("!venv/lib\n", &[]).unwrap();
        let mut tree = LayerTree::new();
        tree.add_copy(ctx.path(), ".", "/app", &rules).unwrap();
        let names: Vec<&str> = tree.entries.keys().map(String::as_str).collect();
        assert!(
            names.iter().all(|n| !n.contains("venv")
                && !n.contains("python-env")
                && !n.contains("node_modules")),
            "{names:?}"
        );
        assert!(names.contains(&"app/src/pkg/b.py"), "{names:?}");
        let mut left: Vec<_> = tree.left_out().to_vec();
        left.sort();
        assert_eq!(
            left,
            [
                ("src/node_modules".to_owned(), "node_modules"),
                ("src/pkg/.python-env".to_owned(), "a virtualenv"),
                ("venv".to_owned(), "a virtualenv"),
            ]
        );
        let mut named = LayerTree::new();
        named
            .add_copy(ctx.path(), "venv", "/app", &IgnoreRules::default())
            .unwrap();
        assert_eq!(named.left_out(), [("venv".to_owned(), "a virtualenv")]);
        assert!(named.entries.keys().all(|n| !n.contains("site-packages")));

        let mut output = LayerTree::new();
        output.add_dir_contents(ctx.path(), "/app").unwrap();
        assert!(
            output
                .entries
                .contains_key("app/src/node_modules/left-pad/index.js")
        );
        assert!(output.left_out().is_empty());
    }

    #[test]
    fn missing_copy_path_names_the_path() {
        let ctx = tempfile::tempdir().unwrap();
        let mut tree = LayerTree::new();
        let err = tree
            .add_copy(ctx.path(), "nope", "/app", &IgnoreRules::default())
            .unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
