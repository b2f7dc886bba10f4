//! What a plain Node server needs built before it runs: the output of its `build` script when
//! its start runs a file there (`node dist/index.js` after `tsc`), and the Prisma client that
//! `prisma generate` writes into `node_modules/.prisma` (`@prisma/client` throws without it).
//! Both come from one scratch build with the full install (the compiler and the Prisma CLI are
//! usually development dependencies), and only their outputs go into the image.

use std::path::Path;

use serde_json::Value;

use crate::init::findings::Service;
use crate::init::scan::text::leading_quoted;

/// Directories a build writes by convention (the scratch copy leaves them out as well).
const OUTPUT_DIRS: [&str; 2] = ["dist", "build"];

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ServerBuild {
    /// The directory `npm run build` writes and the start runs from (`dist`).
    pub out_dir: Option<String>,
    /// `prisma generate` before the build: a Prisma schema and `@prisma/client`.
    pub prisma: bool,
}

impl ServerBuild {
    /// What the server in `service.dir` needs built, with `main` the file its start runs; `None`
    /// when it runs its sources as they are.
    pub fn of(root: &Path, service: &Service, main: Option<&str>) -> Option<Self> {
        let dir = root.join(&service.dir);
        let package: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).ok()?).ok()?;
        let has_build = package.pointer("/scripts/build").is_some();
        let out_dir = main.and_then(|m| output_of(&dir, m)).filter(|_| has_build);
        let prisma = dir.join("prisma/schema.prisma").is_file()
            && service.packages.iter().any(|p| p == "@prisma/client");
        let build = ServerBuild { out_dir, prisma };
        (build != ServerBuild::default()).then_some(build)
    }

    /// What the step runs in the scratch copy after the full install, then copies to `$2`.
    pub fn script(&self) -> String {
        let mut steps = Vec::new();
        if self.prisma {
            steps.push("npx prisma generate".to_string());
        }
        if let Some(out) = &self.out_dir {
            steps.push("npm run build".to_string());
            steps.push(format!("cp -a {out} \"$2/\""));
        }
        if self.prisma {
            // The default output; a generator with its own `output` writes into the sources.
            steps.push(
                "if [ -d node_modules/.prisma ]; then mkdir -p \"$2/node_modules\"; cp -a node_modules/.prisma \"$2/node_modules/\"; fi"
                    .to_string(),
            );
        }
        steps.join("; ")
    }

    /// What the user is told about the step.
    pub fn notes(&self, service: &Service, main: Option<&str>) -> Vec<String> {
        let mut notes = Vec::new();
        if let (Some(out), Some(main)) = (&self.out_dir, main) {
            notes.push(format!(
                "{}: its start runs {main}, which `npm run build` writes: the image build runs it (with the development dependencies) and keeps {out}/",
                service.name
            ));
        }
        if self.prisma {
            notes.push(format!(
                "{}: {}/prisma/schema.prisma: the image build runs `prisma generate` (Prisma downloads its engines from binaries.prisma.sh when they are not cached, and the generated client holds the engine of the build machine's platform: building elsewhere than on Debian with OpenSSL 3, add \"debian-openssl-3.0.x\" to the generator's binaryTargets)",
                service.name, service.dir
            ));
        }
        notes
    }
}

/// The build output directory `main` (the file `node` runs, relative to `dir`) lies in: a
/// conventional output directory, the tsconfig's `outDir`, or one missing from the sources.
fn output_of(dir: &Path, main: &str) -> Option<String> {
    let main = main.trim_start_matches("./");
    let (top, rest) = main.split_once('/')?;
    if top.is_empty() || top == ".." || rest.is_empty() {
        return None;
    }
    let built = OUTPUT_DIRS.contains(&top)
        || !dir.join(top).exists()
        || tsconfig_out_dir(dir).as_deref() == Some(top);
    built.then(|| top.to_string())
}

/// `compilerOptions.outDir` of `tsconfig.json` (JSON with comments: read as text).
fn tsconfig_out_dir(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("tsconfig.json")).ok()?;
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .find_map(|l| {
            let rest = &l[l.find("\"outDir\"")? + "\"outDir\"".len()..];
            leading_quoted(rest.trim_start().strip_prefix(':')?)
        })
        .map(|p| p.trim_start_matches("./").trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::findings::{Found, Runtime, Source};

    fn service(packages: &[&str]) -> Service {
        let runtime = Runtime::Node {
            script: "node dist/index.js".into(),
        };
        Service {
            packages: packages.iter().map(|p| p.to_string()).collect(),
            ..Service::new("api", ".", Found::new(runtime, Source::assumed("x")))
        }
    }

    #[test]
    fn a_start_that_runs_the_build_output_builds_it_and_prisma_generates_its_client() {
        let root = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = root.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "package.json",
            r#"{"scripts": {"start": "node server.js"}}"#,
        );
        let of = |main: &str, packages: &[&str]| {
            ServerBuild::of(root.path(), &service(packages), Some(main))
        };
        assert_eq!(of("server.js", &[]), None, "sources run as they are");
        assert_eq!(of("dist/index.js", &[]), None, "no build script");

        write(
            "package.json",
            r#"{"scripts": {"build": "tsc", "start": "node ./dist/index.js"}}"#,
        );
        let build = of("./dist/index.js", &[]).unwrap();
        assert_eq!(build.out_dir.as_deref(), Some("dist"));
        assert_eq!(build.script(), "npm run build; cp -a dist \"$2/\"");
        write("src/index.ts", "");
        assert_eq!(of("src/index.js", &[]), None, "a source directory");
        assert_eq!(
            of("out/index.js", &[]).and_then(|b| b.out_dir).as_deref(),
            Some("out"),
            "missing from the sources: written by the build"
        );
        write("lib/index.js", "");
        write(
            "tsconfig.json",
            "{\n  \"compilerOptions\": {\n    // \"outDir\": \"./x\",\n    \"outDir\": \"./lib/\" /* out */\n  }\n}\n",
        );
        assert_eq!(
            of("lib/index.js", &[]).and_then(|b| b.out_dir).as_deref(),
            Some("lib"),
            "the tsconfig's outDir"
        );

        assert!(
            !of("dist/index.js", &["@prisma/client"]).unwrap().prisma,
            "no schema"
        );
        write("prisma/schema.prisma", "generator client {}\n");
        let build = of("dist/index.js", &["@prisma/client", "express"]).unwrap();
        assert!(build.prisma);
        let script = build.script();
        assert!(
            script.starts_with("npx prisma generate; npm run build; cp -a dist"),
            "{script}"
        );
        assert!(script.contains("cp -a node_modules/.prisma"), "{script}");
        let build = of("server.js", &["@prisma/client"]).unwrap();
        assert_eq!(build.out_dir, None);
        assert!(
            !build.script().contains("npm run build"),
            "{}",
            build.script()
        );
    }
}
