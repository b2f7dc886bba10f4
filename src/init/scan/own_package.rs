//! A Python service whose code imports its own directory by name: `from api.src.db import …`
//! in `api/`, as when the team starts it from the repository's root (`python -m
//! api.src.main`). The image must then keep the directory's name above the code, with its
//! parent on the import path; copied to the image's root, `api` is not importable and the
//! app stops at its first such import.

use std::path::Path;

use crate::init::findings::{Found, Source};

/// The directory's own name and the first import that names it, from one file's `text`; `None`
/// for the repository's root, and when the directory holds a package or module of that same
/// name (then the import is of that, and the code's root is the directory itself).
pub fn import_of_itself(
    root: &Path,
    dir: &Path,
    file_rel: &str,
    text: &str,
) -> Option<Found<String>> {
    if dir == root {
        return None;
    }
    let name = dir.file_name()?.to_str()?;
    if dir.join(name).exists() || dir.join(format!("{name}.py")).is_file() {
        return None;
    }
    text.lines().enumerate().find_map(|(i, line)| {
        let line = line.trim_start();
        let module = line
            .strip_prefix("from ")
            .or_else(|| line.strip_prefix("import "))?
            .split([' ', ',', ';'])
            .next()?;
        let inner = module.strip_prefix(name)?.strip_prefix('.')?;
        let path = dir.join(inner.replace('.', "/"));
        (path.is_dir() || path.with_extension("py").is_file()).then(|| {
            Found::new(
                name.to_string(),
                Source::new(file_rel, Some(i + 1), format!("from {module} import")),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for f in files {
            let path = root.path().join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        root
    }

    #[test]
    fn an_import_through_the_directory_s_own_name_is_found_with_its_line() {
        let root = tree(&["api/src/main.py", "api/src/bus/pubsub.py"]);
        let dir = root.path().join("api");
        let text = "import os\nfrom ..bus import x\n    from api.src.bus.pubsub import Topic\n";
        let found = import_of_itself(root.path(), &dir, "api/src/events.py", text).unwrap();
        assert_eq!(found.value, "api");
        assert_eq!(found.source.line, Some(3));
        assert_eq!(found.source.file, "api/src/events.py");
    }

    #[test]
    fn a_package_of_the_same_name_inside_or_a_missing_module_is_not_the_directory() {
        let root = tree(&["api/api/models.py", "svc/main.py"]);
        let inside = root.path().join("api");
        assert!(
            import_of_itself(root.path(), &inside, "f.py", "from api.models import M").is_none()
        );
        let svc = root.path().join("svc");
        // `svc.nothing` resolves to no file of the directory: some installed package's name.
        assert!(import_of_itself(root.path(), &svc, "f.py", "from svc.nothing import x").is_none());
        assert!(import_of_itself(root.path(), &svc, "f.py", "import svc.main").is_some());
        assert!(import_of_itself(root.path(), root.path(), "f.py", "import svc.main").is_none());
    }
}
