//! The build context of a Node service's spec: its own directory, or — when its code imports
//! from outside it (`../../shared/types`, a tsconfig `paths` entry) — the smallest directory
//! that holds it and everything it imports. The steps then copy only the app and those
//! directories, and build in the app's directory as before, so the image's layout and working
//! directory stay the app's.

use std::path::{Component, Path, PathBuf};

use crate::init::findings::Service;

pub struct BuildContext {
    /// The spec's `context`, relative to the repository root.
    pub dir: String,
    /// The app's directory inside the context (`.` when they are the same).
    pub app: String,
    /// The imported directories, relative to the context.
    pub extra: Vec<String>,
}

impl BuildContext {
    pub fn of(service: &Service, notes: &mut Vec<String>) -> Self {
        if service.imports_outside.is_empty() {
            return BuildContext {
                dir: service.dir.clone(),
                app: ".".into(),
                extra: Vec::new(),
            };
        }
        let mut common = PathBuf::from(&service.dir);
        for f in &service.imports_outside {
            while !Path::new(&f.value).starts_with(&common) && common.pop() {}
        }
        let dir = text(&common);
        let inside = |p: &str| text(Path::new(p).strip_prefix(&common).unwrap_or(Path::new(p)));
        let extra: Vec<String> = service
            .imports_outside
            .iter()
            .map(|f| inside(&f.value))
            .collect();
        let imported: Vec<String> = service
            .imports_outside
            .iter()
            .map(|f| format!("{} ({})", f.value, f.source))
            .collect();
        notes.push(format!(
            "{}: build context widened to {dir}: its code imports from outside {}: {}; the build copies only {} and those, and runs in {} as before",
            service.name,
            service.dir,
            imported.join(", "),
            service.dir,
            service.dir
        ));
        BuildContext {
            app: inside(&service.dir),
            dir,
            extra,
        }
    }

    pub fn widened(&self) -> bool {
        self.app != "."
    }

    /// `name` of the app's directory, relative to the context.
    pub fn app_path(&self, name: &str) -> String {
        if self.widened() {
            format!("{}/{name}", self.app)
        } else {
            name.to_string()
        }
    }

    /// Shell prefix of a step: copy the app (without dependencies and build output) and the
    /// directories it imports to a scratch directory and `cd` to the app there, so the step
    /// installs and builds without touching the team's tree.
    pub fn scratch(&self) -> String {
        let start = "set -eu; w=$(mktemp -d); trap 'rm -rf \"$w\"' EXIT; tar -C \"$1\"";
        if !self.widened() {
            return format!(
                "{start} --exclude=./node_modules --exclude=./.next --exclude=./dist --exclude=./build --exclude=./.git -cf - . | tar -C \"$w\" -xf -; cd \"$w\"; "
            );
        }
        let app = quote(&self.app);
        let outputs: Vec<String> = [".next", "dist", "build"]
            .iter()
            .map(|o| format!("--exclude={}", quote(&format!("{}/{o}", self.app))))
            .collect();
        let members: Vec<String> = std::iter::once(&self.app)
            .chain(&self.extra)
            .map(|m| quote(m))
            .collect();
        format!(
            "{start} --exclude=node_modules --exclude=.git {} -cf - {} | tar -C \"$w\" -xf -; cd \"$w\"/{app}; ",
            outputs.join(" "),
            members.join(" ")
        )
    }
}

/// A single-quoted shell word.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

fn text(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::findings::{Found, Runtime, Source};

    fn service(dir: &str, imports: &[&str]) -> Service {
        let runtime = Runtime::NextJs { standalone: false };
        let mut s = Service::new("web", dir, Found::new(runtime, Source::assumed("x")));
        s.imports_outside = imports
            .iter()
            .map(|d| Found::new(d.to_string(), Source::new("web/a.ts", Some(1), "imports")))
            .collect();
        s
    }

    #[test]
    fn the_context_is_the_smallest_directory_holding_the_app_and_its_imports() {
        let mut notes = Vec::new();
        let plain = BuildContext::of(&service("apps/web", &[]), &mut notes);
        assert_eq!((plain.dir.as_str(), plain.app.as_str()), ("apps/web", "."));
        assert!(plain.scratch().contains("-cf - . |") && notes.is_empty());

        let c = BuildContext::of(
            &service("apps/web", &["apps/shared/types", "apps/lib"]),
            &mut notes,
        );
        assert_eq!((c.dir.as_str(), c.app.as_str()), ("apps", "web"));
        assert_eq!(c.extra, ["shared/types", "lib"]);
        assert_eq!(c.app_path("package.json"), "web/package.json");
        let script = c.scratch();
        assert!(
            script.contains("-cf - 'web' 'shared/types' 'lib' |"),
            "{script}"
        );
        assert!(
            script.contains("--exclude='web/.next'") && script.ends_with("cd \"$w\"/'web'; "),
            "{script}"
        );
        assert!(
            notes[0].contains("build context widened to apps"),
            "{notes:?}"
        );

        let root = BuildContext::of(&service("frontend", &["shared/types"]), &mut notes);
        assert_eq!((root.dir.as_str(), root.app.as_str()), (".", "frontend"));
    }
}
