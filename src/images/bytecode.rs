//! Python bytecode for a layer, compiled at build time by the base image's own interpreter.
//!
//! An image's root filesystem is read-only and its sources never change, so without bytecode
//! every start of every pod compiles every module it imports: seconds for a FastAPI app, on each
//! rollout. Compiling needs the interpreter the image runs (bytecode is specific to CPython's
//! minor version), which is the base's: its root filesystem is unpacked once per base (cached by
//! manifest digest) and its `python3` run through the base's own dynamic loader and libraries,
//! when this machine can run the base's binaries (Linux, same architecture). Hash-based pycs
//! (`unchecked-hash`) with one worker: the output depends only on the sources and the
//! interpreter, so the layer stays reproducible.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use flate2::read::GzDecoder;

use super::error::ErrorKind;
use super::platform::Platform;
use super::store::{BlobStore, Digest};

/// What happened to a layer's Python sources.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Bytecode written next to the sources (`__pycache__`).
    Compiled,
    /// Left without bytecode, and why (the image works; its pods compile on start).
    Skipped(String),
}

/// The base's interpreter, ready to run on this machine.
#[derive(Debug)]
pub struct Interpreter {
    loader: PathBuf,
    library_path: String,
    program: PathBuf,
    home: PathBuf,
}

/// Finds the interpreter of the base whose layers are `layers` (in order), unpacking them under
/// `cache_dir/bases/` the first time. `Ok(Err(reason))` when this machine cannot run it.
pub fn base_interpreter(
    store: &BlobStore,
    manifest: &Digest,
    layers: &[Digest],
    platform: &Platform,
    cache_dir: &Path,
) -> Result<Result<Interpreter, String>, ErrorKind> {
    let host = Platform::host();
    if !cfg!(target_os = "linux") || platform.differs_from(&host) {
        return Ok(Err(format!(
            "the base's interpreter is for {platform} and cannot run on this machine ({}/{})",
            std::env::consts::OS,
            host.architecture
        )));
    }
    let root = unpacked_base(store, manifest, layers, cache_dir)?;
    Ok(find_interpreter(&root))
}

/// Compiles every `.py` under `dir` as it will be found at `dest` in the image. The interpreter
/// failing is a skip, not an error: bytecode only makes the image start faster.
pub fn compile(interpreter: &Interpreter, dir: &Path, dest: &str) -> Outcome {
    const SCRIPT: &str = "import compileall, py_compile, sys\n\
        compileall.compile_dir(sys.argv[1], ddir=sys.argv[2], quiet=2, workers=1,\n\
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)\n";
    let output = Command::new(&interpreter.loader)
        .arg("--library-path")
        .arg(&interpreter.library_path)
        .arg(&interpreter.program)
        .args(["-S", "-s", "-c", SCRIPT])
        .arg(dir)
        .arg(dest)
        .env_clear()
        .env("PYTHONHOME", &interpreter.home)
        .env("PYTHONHASHSEED", "0")
        .output();
    match output {
        Ok(out) if out.status.success() => Outcome::Compiled,
        Ok(out) => Outcome::Skipped(format!(
            "the base's interpreter failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )),
        Err(e) => Outcome::Skipped(format!("cannot run {}: {e}", interpreter.loader.display())),
    }
}

/// Copies `from` into a fresh directory `to` with hard links where it can, so compiling there never touches
/// the cached step output `from` (compileall writes new files into new `__pycache__`s).
pub fn link_tree(from: &Path, to: &Path) -> Result<(), ErrorKind> {
    fs::create_dir_all(to).map_err(|e| ErrorKind::io("create directory", to, e))?;
    for entry in fs::read_dir(from).map_err(|e| ErrorKind::io("read directory", from, e))? {
        let entry = entry.map_err(|e| ErrorKind::io("read directory", from, e))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry
            .file_type()
            .map_err(|e| ErrorKind::io("stat", &source, e))?;
        if kind.is_dir() {
            link_tree(&source, &target)?;
        } else if kind.is_symlink() {
            let link =
                fs::read_link(&source).map_err(|e| ErrorKind::io("read link", &source, e))?;
            symlink(&link, &target).map_err(|e| ErrorKind::io("create link", &target, e))?;
        } else {
            // Another filesystem (a cache elsewhere): copy instead.
            if fs::hard_link(&source, &target).is_err() {
                fs::copy(&source, &target).map_err(|e| ErrorKind::io("copy", &target, e))?;
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn symlink(link: &Path, at: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(link, at)
}

/// Bytecode is only compiled on Linux (`base_interpreter` says so first); this keeps the build
/// for other hosts compiling.
#[cfg(not(unix))]
fn symlink(_link: &Path, _at: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "symbolic links are made on Unix only",
    ))
}

/// The base's root filesystem, unpacked once per manifest (whiteouts ignored: a deleted file
/// left in place cannot change how `python3` starts).
fn unpacked_base(
    store: &BlobStore,
    manifest: &Digest,
    layers: &[Digest],
    cache_dir: &Path,
) -> Result<PathBuf, ErrorKind> {
    let dir = cache_dir.join("bases").join(manifest.hex());
    let root = dir.join("root");
    if dir.join("complete").is_file() {
        return Ok(root);
    }
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&root).map_err(|e| ErrorKind::io("create directory", &root, e))?;
    for layer in layers {
        let path = store.path(layer);
        let file = fs::File::open(&path).map_err(|e| ErrorKind::io("open", &path, e))?;
        let mut head = [0u8; 2];
        let gzip = (&file)
            .take(2)
            .read(&mut head)
            .map_err(|e| ErrorKind::io("read", &path, e))?
            == 2
            && head == [0x1f, 0x8b];
        let file = fs::File::open(&path).map_err(|e| ErrorKind::io("open", &path, e))?;
        let reader: Box<dyn Read> = if gzip {
            Box::new(GzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let mut archive = tar::Archive::new(reader);
        archive.set_preserve_permissions(true);
        archive.set_overwrite(true);
        for entry in archive
            .entries()
            .map_err(|e| ErrorKind::io("read layer", &path, e))?
        {
            let mut entry = entry.map_err(|e| ErrorKind::io("read layer", &path, e))?;
            let name = entry.path().map(|p| p.into_owned()).unwrap_or_default();
            if name
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".wh."))
            {
                continue;
            }
            // A symlink replacing a directory or file of a lower layer: make room first.
            if entry.header().entry_type().is_symlink() {
                let at = root.join(&name);
                if at.symlink_metadata().is_ok_and(|m| !m.is_dir()) {
                    let _ = fs::remove_file(&at);
                }
            }
            entry
                .unpack_in(&root)
                .map_err(|e| ErrorKind::io("unpack base layer into", &root, e))?;
        }
    }
    fs::write(dir.join("complete"), b"").map_err(|e| ErrorKind::io("write", &dir, e))?;
    Ok(root)
}

/// Resolves `path` (absolute in the image) inside `root`, following the image's symlinks
/// (absolute ones relative to `root`), or `None` when it does not exist.
fn resolve(root: &Path, path: &str) -> Option<PathBuf> {
    let mut parts: Vec<String> = vec![path.to_string()];
    let mut resolved = PathBuf::new();
    let mut hops = 0;
    while let Some(next) = parts.pop() {
        let next_path = PathBuf::from(&next);
        let mut rest: Vec<String> = next_path
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                Component::ParentDir => Some("..".into()),
                _ => None,
            })
            .collect();
        if next.starts_with('/') {
            resolved = PathBuf::new();
        }
        rest.reverse();
        while let Some(part) = rest.pop() {
            if part == ".." {
                resolved.pop();
                continue;
            }
            let candidate = resolved.join(&part);
            let on_disk = root.join(&candidate);
            match fs::symlink_metadata(&on_disk) {
                Ok(m) if m.file_type().is_symlink() => {
                    hops += 1;
                    if hops > 40 {
                        return None;
                    }
                    let target = fs::read_link(&on_disk).ok()?;
                    rest.reverse();
                    let remaining: PathBuf = rest.iter().collect();
                    let target = target.to_string_lossy().into_owned();
                    let joined = if remaining.as_os_str().is_empty() {
                        target
                    } else {
                        format!("{target}/{}", remaining.display())
                    };
                    parts.push(joined);
                    rest.clear();
                }
                Ok(_) => resolved = candidate,
                Err(_) => return None,
            }
        }
    }
    Some(root.join(resolved))
}

/// `python3` of the unpacked base, with the loader and library directories to run it.
fn find_interpreter(root: &Path) -> Result<Interpreter, String> {
    let program = ["/usr/local/bin/python3", "/usr/bin/python3"]
        .iter()
        .find_map(|p| resolve(root, p))
        .ok_or("the base has no python3 in /usr/local/bin or /usr/bin")?;
    let bytes = fs::read(&program).map_err(|e| format!("read {}: {e}", program.display()))?;
    let interp = elf_interpreter(&bytes).ok_or("the base's python3 is not a dynamic ELF binary")?;
    let loader = resolve(root, &interp)
        .ok_or_else(|| format!("the base's dynamic loader {interp} is missing"))?;
    let mut dirs = Vec::new();
    for dir in ["/usr/local/lib", "/lib", "/usr/lib", "/lib64", "/usr/lib64"] {
        let Some(found) = resolve(root, dir) else {
            continue;
        };
        let mut sub: Vec<PathBuf> = fs::read_dir(&found)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir() && p.to_string_lossy().ends_with("-linux-gnu"))
            .collect();
        sub.sort();
        dirs.push(found);
        dirs.extend(sub);
    }
    let home = program
        .parent()
        .and_then(Path::parent)
        .ok_or("the base's python3 has no prefix")?
        .to_path_buf();
    Ok(Interpreter {
        loader,
        library_path: std::env::join_paths(&dirs)
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .into_owned(),
        program,
        home,
    })
}

/// The `PT_INTERP` of an ELF executable (its dynamic loader's path in the image).
fn elf_interpreter(bytes: &[u8]) -> Option<String> {
    use object::read::elf::{FileHeader, ProgramHeader};
    let header = object::elf::FileHeader64::<object::Endianness>::parse(bytes).ok()?;
    let endian = header.endian().ok()?;
    let segments = header.program_headers(endian, bytes).ok()?;
    let interp = segments
        .iter()
        .find(|s| s.p_type(endian) == object::elf::PT_INTERP)?;
    let data = interp.data(endian, bytes).ok()?;
    let path = data.split(|b| *b == 0).next()?;
    Some(String::from_utf8_lossy(path).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_absolute_and_relative_links_inside_the_root() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::create_dir_all(r.join("usr/lib/x86_64-linux-gnu")).unwrap();
        fs::write(r.join("usr/lib/x86_64-linux-gnu/ld.so.2"), b"").unwrap();
        std::os::unix::fs::symlink("usr/lib", r.join("lib")).unwrap();
        fs::create_dir_all(r.join("lib64-real")).unwrap();
        std::os::unix::fs::symlink("/lib/x86_64-linux-gnu/ld.so.2", r.join("lib64-real/ld"))
            .unwrap();
        assert_eq!(
            resolve(r, "/lib64-real/ld"),
            Some(r.join("usr/lib/x86_64-linux-gnu/ld.so.2")),
            "an absolute link is followed inside the root, never on the host"
        );
        assert_eq!(
            resolve(r, "/lib/../lib/x86_64-linux-gnu"),
            Some(r.join("usr/lib/x86_64-linux-gnu"))
        );
        assert_eq!(resolve(r, "/missing"), None);
        std::os::unix::fs::symlink("loop", r.join("loop")).unwrap();
        assert_eq!(resolve(r, "/loop"), None, "a link loop ends");
    }

    #[test]
    fn reads_the_loader_of_this_test_binary() {
        let me = fs::read(std::env::current_exe().unwrap()).unwrap();
        // Test binaries are dynamic executables on glibc hosts; a static one has no PT_INTERP.
        if let Some(interp) = elf_interpreter(&me) {
            assert!(interp.starts_with('/') && interp.contains("ld"), "{interp}");
        }
        assert_eq!(elf_interpreter(b"#!/bin/sh\n"), None);
    }

    #[test]
    fn link_tree_leaves_the_source_untouched() {
        let from = tempfile::tempdir().unwrap();
        fs::create_dir_all(from.path().join("pkg")).unwrap();
        fs::write(from.path().join("pkg/mod.py"), b"x = 1\n").unwrap();
        let to = tempfile::tempdir().unwrap();
        let copy = to.path().join("copy");
        link_tree(from.path(), &copy).unwrap();
        fs::create_dir(copy.join("pkg/__pycache__")).unwrap();
        assert_eq!(fs::read(copy.join("pkg/mod.py")).unwrap(), b"x = 1\n");
        assert!(!from.path().join("pkg/__pycache__").exists());
    }
}
