//! The SQLite database file a Python service writes, as its code names it: a URL
//! (`sqlite:///./app.db`, `sqlite+aiosqlite:///data/app.db`, `sqlite:////var/db/app.db`), a
//! `sqlite3.connect("app.db")`, or a path built from the module's own location
//! (`Path(__file__).parent.parent / "app.db"` in an f-string URL). A relative path is the
//! service directory's (where the image runs the code); an absolute one is kept. The image's root
//! filesystem is read-only, so the plan must give that file a writable place.

use std::path::Path;

use super::Detected;
use super::text::leading_quoted;
use crate::init::classify;
use crate::init::findings::{Found, Source};

/// SQLite in the code: a fallback when the service reads a database URL (the plan gives it
/// PostgreSQL's), else the database itself, whose file must be writable.
pub fn plan(found: &mut Detected, mention: Option<Source>, file: Option<Found<String>>) {
    let Some(mention) = mention else {
        return;
    };
    let reads_url = found.env.iter().any(|(var, f)| {
        classify::classify(var, f.value.example.as_deref()) == classify::Class::DatabaseUrl
    });
    if reads_url {
        found.notes.push(Found::new(
            "SQLite fallback in code: berth deploys PostgreSQL; the fallback is not used in the cluster".to_string(),
            mention,
        ));
    } else if let Some(file) = file {
        found.notes.push(Found::new(
            format!(
                "SQLite database {}: the root filesystem is read-only, so its directory is a writable emptyDir, per pod and lost when the pod is replaced; keep one replica, or move to PostgreSQL to keep the data",
                file.value
            ),
            file.source.clone(),
        ));
        found.sqlite = Some(file);
    } else {
        found.notes.push(Found::new(
            "SQLite in code, but not where its database file is: the root filesystem is read-only; add the file's directory to writablePaths".to_string(),
            mention,
        ));
    }
}

/// Where a file of the service (`module_path`, relative to the service) puts its SQLite
/// database: (path relative to the service or absolute, 1-based line).
pub fn database_file(text: &str, module_path: &str) -> Option<(String, usize)> {
    for (n, line) in text.lines().enumerate() {
        if let Some(path) = url_path(line) {
            if path.contains('{') {
                return built_path(text, module_path).map(|p| (p, n + 1));
            }
            if let Some(p) = normalize(&path) {
                return Some((p, n + 1));
            }
        }
        if let Some(i) = line.find("sqlite3.connect(")
            && let Some(path) = leading_quoted(&line[i + "sqlite3.connect(".len()..])
            && let Some(p) = normalize(&path)
        {
            return Some((p, n + 1));
        }
    }
    None
}

/// The path of a `sqlite[+driver]:///PATH` URL on `line`.
fn url_path(line: &str) -> Option<String> {
    let start = line.find("sqlite")?;
    let rest = &line[start + "sqlite".len()..];
    let rest = match rest.strip_prefix('+') {
        Some(driver) => driver.trim_start_matches(|c: char| c.is_ascii_alphanumeric()),
        None => rest,
    };
    let path = rest.strip_prefix(":///")?;
    Some(
        path.chars()
            .take_while(|c| !matches!(c, '"' | '\'' | '?' | ' ' | ')'))
            .collect(),
    )
}

/// A relative path without `./`, or an absolute one; `None` for an in-memory database.
fn normalize(path: &str) -> Option<String> {
    let path = path.trim();
    if path.is_empty() || path == ":memory:" || path.contains('{') {
        return None;
    }
    if path.starts_with('/') {
        return Some(path.to_string());
    }
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    (!parts.is_empty() && !parts.contains(&"..")).then(|| parts.join("/"))
}

/// A URL built from a variable: the database file's name is the file's `"….db"` literal, its
/// directory the module's own, up as many levels as `Path(__file__).parent…` or
/// `os.path.dirname(…)` go (the working directory without `__file__`).
fn built_path(text: &str, module_path: &str) -> Option<String> {
    let name = text.lines().find_map(|l| {
        l.split(['"', '\''])
            .skip(1)
            .step_by(2)
            .find(|s| {
                [".db", ".sqlite", ".sqlite3"]
                    .iter()
                    .any(|e| s.ends_with(e))
                    && !s.contains(['/', '{', ':'])
            })
            .map(String::from)
    })?;
    let Some(line) = text.lines().find(|l| l.contains("__file__")) else {
        return Some(name);
    };
    let levels = line.matches(".parent").count() + line.matches("dirname(").count();
    let mut dir = Path::new(module_path).to_path_buf();
    for _ in 0..levels {
        dir = dir.parent()?.to_path_buf();
    }
    normalize(&dir.join(&name).to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::database_file;

    #[test]
    fn the_database_file_is_found_where_the_code_puts_it() {
        let cases = [
            (
                "engine = create_engine(\"sqlite:///./todo.db\")\n",
                "app/db.py",
                Some("todo.db"),
            ),
            (
                "URL = 'sqlite+aiosqlite:///data/app.db?check_same_thread=false'\n",
                "db.py",
                Some("data/app.db"),
            ),
            (
                "URL = \"sqlite:////var/lib/app/app.db\"\n",
                "db.py",
                Some("/var/lib/app/app.db"),
            ),
            (
                "con = sqlite3.connect('notes.sqlite3')\n",
                "db.py",
                Some("notes.sqlite3"),
            ),
            ("e = create_engine('sqlite:///:memory:')\n", "db.py", None),
            (
                "root = Path(__file__).parent.parent\ndb_path = root / \"todos.db\"\nURL = f\"sqlite:///{db_path}\"\n",
                "backend/database.py",
                Some("todos.db"),
            ),
            (
                "HERE = os.path.dirname(os.path.abspath(__file__))\nURL = f\"sqlite:///{HERE}/x.db\"\nNAME = 'x.db'\n",
                "api/store.py",
                Some("api/x.db"),
            ),
            ("nothing = 1\n", "db.py", None),
        ];
        for (text, module, want) in cases {
            assert_eq!(
                database_file(text, module).map(|(p, _)| p).as_deref(),
                want,
                "{text}"
            );
        }
    }
}
