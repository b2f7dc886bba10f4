//! Whether a service's alembic migrations are self-contained: run on an empty database, every
//! foreign key they make must point at a table some migration creates. Teams often let the app
//! make part of the schema itself (SQLModel/SQLAlchemy `metadata.create_all` at start) or leave a
//! table to another tool (an auth library's own migration, a hand-run SQL file); then the first
//! `alembic upgrade head` on a fresh database fails, and a task that runs before the rollout
//! would hold the pods back for ever. Init reads the migration scripts (`versions/*.py`, their
//! `upgrade()` only) and, for a foreign key to a table no migration creates, says where that table
//! comes from instead of writing the task.

use std::fs;
use std::path::{Path, PathBuf};

use super::findings::Service;
use super::scan::text::{files_with, leading_quoted, relative};

/// Tables Better Auth's own migration (`npx @better-auth/cli migrate`) creates.
const BETTER_AUTH_TABLES: [&str; 4] = ["user", "session", "account", "verification"];

/// What the `upgrade()` functions of a migration directory create and reference.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Schema {
    pub created: Vec<String>,
    /// (table, file relative to the repository, 1-based line) of each foreign key's target.
    pub references: Vec<(String, String, usize)>,
}

impl Schema {
    /// Foreign keys to tables no migration creates: the first place each table is named.
    pub fn missing(&self) -> Vec<&(String, String, usize)> {
        let mut out: Vec<&(String, String, usize)> = Vec::new();
        for r in &self.references {
            if !self.created.contains(&r.0) && !out.iter().any(|o| o.0 == r.0) {
                out.push(r);
            }
        }
        out
    }
}

/// Why the alembic task of `service` cannot run on an empty database, with where the missing
/// table comes from and what to run by hand (in the namespace and release `app`, berth's
/// defaults); `None` when its migrations are self-contained (or cannot be read: then nothing is
/// known against them).
pub fn not_self_contained(
    root: &Path,
    app: &str,
    service: &Service,
    all: &[Service],
) -> Option<String> {
    let dir = root.join(&service.dir);
    let versions = versions_dir(&dir)?;
    let schema = read_versions(root, &versions);
    let missing = schema.missing();
    if missing.is_empty() {
        return None;
    }
    let code = app_code(root, &dir, &versions);
    let mut reasons = Vec::new();
    let mut at_start = true;
    for (table, file, line) in &missing {
        let origins = origins(root, table, &code, all);
        at_start &= origins.iter().any(|o| o.at_start);
        let from = if origins.is_empty() {
            "nothing in the repository creates it".to_string()
        } else {
            origins
                .iter()
                .map(|o| o.text.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        };
        reasons.push(format!(
            "{file}:{line} makes a foreign key to table `{table}`, which no migration creates ({from})"
        ));
    }
    let exec = format!(
        "kubectl -n {app} exec deploy/{app}-{} -- python -m alembic",
        service.name
    );
    let then = if at_start {
        format!(
            "the app's start creates those tables; once it is up, run `{exec} upgrade head` (`stamp head` instead when create_all already made every table the migrations make)"
        )
    } else {
        format!("create the table first, then run `{exec} upgrade head`")
    };
    Some(format!(
        "{}, so `alembic upgrade head` fails on an empty database; {then}",
        reasons.join("; ")
    ))
}

/// The `versions/` directory of `alembic.ini`'s `script_location` (`%(here)s` is the ini's
/// directory; a relative path is too, as alembic runs from there).
fn versions_dir(dir: &Path) -> Option<PathBuf> {
    let ini = fs::read_to_string(dir.join("alembic.ini")).ok()?;
    let location = ini.lines().find_map(|l| {
        let (key, value) = l.split_once('=')?;
        (key.trim() == "script_location").then(|| value.trim().to_string())
    })?;
    // `%(here)s` is `dir` itself, which may be relative: joined, not substituted.
    let versions: PathBuf = dir
        .join(location.replace("%(here)s", "."))
        .join("versions")
        .components()
        .filter(|c| *c != std::path::Component::CurDir)
        .collect();
    versions.is_dir().then_some(versions)
}

/// The tables the `upgrade()` of every script in `versions` creates and references, read in
/// revision order (each after its `down_revision`), so the first reference named is the first
/// an upgrade meets.
pub fn read_versions(root: &Path, versions: &Path) -> Schema {
    let scripts: Vec<(PathBuf, String)> = files_with(versions, &[".py"], 0)
        .into_iter()
        .filter_map(|f| Some((f.clone(), fs::read_to_string(&f).ok()?)))
        .collect();
    let ids: Vec<(Option<String>, Option<String>)> = scripts
        .iter()
        .map(|(_, t)| (assigned(t, "revision"), assigned(t, "down_revision")))
        .collect();
    // Depth of each script in the chain (merges follow their first parent; a cycle stops).
    let depth = |i: usize| {
        let (mut at, mut n) = (i, 0);
        while let Some(parent) = &ids[at].1
            && let Some(p) = ids.iter().position(|(r, _)| r.as_ref() == Some(parent))
            && n < ids.len()
        {
            (at, n) = (p, n + 1);
        }
        n
    };
    let mut order: Vec<usize> = (0..scripts.len()).collect();
    order.sort_by_key(|&i| depth(i));
    let mut schema = Schema::default();
    for i in order {
        let (file, text) = &scripts[i];
        read_script(&relative(root, file), text, &mut schema);
    }
    schema
}

/// The first quoted value assigned to `name` at the start of a line (`revision = 'x'`,
/// `down_revision: Union[…] = ('a', 'b')`); `None` for `None` or no such line.
fn assigned(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?;
        let rest = rest.strip_prefix(|c: char| c == ' ' || c == ':' || c == '=')?;
        let value = rest.split_once('=').map_or(rest, |(_, v)| v).trim_start();
        leading_quoted(value.trim_start_matches(['(', '[']))
    })
}

/// One migration script's `upgrade()`: `op.create_table('x'`, `op.rename_table(_, 'x')`, SQL
/// `CREATE TABLE x` create; `ForeignKey('t.col')`, `ForeignKeyConstraint([...], ['t.col'])`,
/// `op.create_foreign_key(name, source, 't', …)` and SQL `REFERENCES t` reference.
pub fn read_script(file: &str, text: &str, schema: &mut Schema) {
    let Some(start) = text.find("def upgrade(") else {
        return;
    };
    let end = text[start + 1..]
        .find("\ndef ")
        .map_or(text.len(), |e| start + 1 + e);
    let body = &text[start..end];
    let line = |at: usize| text[..start + at].matches('\n').count() + 1;
    let table_of = |target: &str| {
        target
            .rsplit_once('.')
            .map_or(target, |(t, _)| t)
            .rsplit('.')
            .next()
            .unwrap_or(target)
            .to_string()
    };
    for (_, args) in calls(body, "create_table(") {
        if let Some(t) = quoted_arg(args, 0) {
            schema.created.push(t);
        }
    }
    for (_, args) in calls(body, "rename_table(") {
        if let Some(t) = quoted_arg(args, 1) {
            schema.created.push(t);
        }
    }
    for (at, args) in calls(body, "ForeignKey(") {
        if let Some(t) = quoted_arg(args, 0) {
            schema
                .references
                .push((table_of(&t), file.into(), line(at)));
        }
    }
    for (at, args) in calls(body, "ForeignKeyConstraint(") {
        let target = nth_arg(args, 1)
            .and_then(|a| without_comments(a).strip_prefix('['))
            .and_then(|a| leading_quoted(without_comments(a)));
        if let Some(t) = target {
            schema
                .references
                .push((table_of(&t), file.into(), line(at)));
        }
    }
    for (at, args) in calls(body, "create_foreign_key(") {
        if let Some(t) = quoted_arg(args, 2) {
            schema.references.push((t, file.into(), line(at)));
        }
    }
    let upper = body.to_ascii_uppercase();
    for (at, _) in upper.match_indices("CREATE TABLE ") {
        if let Some(t) = sql_name(&body[at + "CREATE TABLE ".len()..]) {
            schema.created.push(t);
        }
    }
    for (at, _) in upper.match_indices("REFERENCES ") {
        if let Some(t) = sql_name(&body[at + "REFERENCES ".len()..]) {
            schema.references.push((t, file.into(), line(at)));
        }
    }
}

/// Each call of `name` in `text`: the offset of the match and the text after its `(`.
fn calls<'a>(text: &'a str, name: &str) -> Vec<(usize, &'a str)> {
    text.match_indices(name)
        .filter(|(at, _)| {
            // `ForeignKey(` is not the end of another identifier (`MyForeignKey(`).
            !text[..*at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .map(|(at, _)| (at, &text[at + name.len()..]))
        .collect()
}

/// The `n`th top-level argument of a call whose text starts after its `(` (commas inside
/// brackets, quotes and `#` comments do not split).
fn nth_arg(args: &str, n: usize) -> Option<&str> {
    let (mut depth, mut quote, mut index, mut from) = (0i32, None::<char>, 0, 0);
    for (i, c) in args.char_indices() {
        match (quote, c) {
            (Some('#'), '\n') => quote = None,
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '#') => quote = Some('#'),
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') if depth == 0 => {
                return (index == n).then_some(&args[from..i]);
            }
            (None, ')' | ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                if index == n {
                    return Some(&args[from..i]);
                }
                index += 1;
                from = i + 1;
            }
            _ => {}
        }
    }
    None
}

/// The string literal that is the `n`th argument of a call (comments before it skipped).
fn quoted_arg(args: &str, n: usize) -> Option<String> {
    leading_quoted(without_comments(nth_arg(args, n)?))
}

/// `text` after its leading spaces and `#` comment lines.
fn without_comments(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        match text.strip_prefix('#') {
            Some(comment) => text = comment.split_once('\n').map_or("", |(_, rest)| rest),
            None => return text,
        }
    }
}

/// A table name at the start of SQL text: `IF NOT EXISTS` skipped, `"quoted"` or bare.
fn sql_name(text: &str) -> Option<String> {
    let text = text.trim_start();
    let text = if text.to_ascii_uppercase().starts_with("IF NOT EXISTS ") {
        text["IF NOT EXISTS ".len()..].trim_start()
    } else {
        text
    };
    if let Some(rest) = text.strip_prefix('"') {
        return rest.find('"').map(|e| rest[..e].to_string());
    }
    let name: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    let name = name.rsplit('.').next().unwrap_or_default().to_string();
    (!name.is_empty()).then_some(name)
}

/// The service's own Python sources (no tests, no migration scripts): (path in the
/// repository, text).
fn app_code(root: &Path, dir: &Path, versions: &Path) -> Vec<(String, String)> {
    files_with(dir, &[".py"], 5)
        .into_iter()
        .filter(|f| !f.starts_with(versions))
        .filter_map(|f| Some((relative(root, &f), fs::read_to_string(&f).ok()?)))
        .collect()
}

/// Where a table no migration creates comes from.
struct Origin {
    text: String,
    /// Made when the app starts (no hand step needed before the app runs).
    at_start: bool,
}

fn origins(root: &Path, table: &str, app: &[(String, String)], all: &[Service]) -> Vec<Origin> {
    let mut out = Vec::new();
    if let Some(model) = app
        .iter()
        .find_map(|(f, t)| model_line(t, table).map(|l| format!("{f}:{l}")))
    {
        match create_all(app) {
            Some((at, None)) => out.push(Origin {
                text: format!(
                    "declared by the app's model, {model}, and created at start by create_all, {at}"
                ),
                at_start: true,
            }),
            Some((at, Some(function))) => out.push(Origin {
                text: format!(
                    "declared by the app's model, {model}; create_all at {at} would create it, but nothing in the service calls {function}()"
                ),
                at_start: false,
            }),
            None => out.push(Origin {
                text: format!(
                    "declared by the app's model, {model}, but nothing in the service creates it"
                ),
                at_start: false,
            }),
        }
    }
    if BETTER_AUTH_TABLES.contains(&table) {
        for s in all
            .iter()
            .filter(|s| s.packages.iter().any(|p| p == "better-auth"))
        {
            out.push(Origin {
                text: format!(
                    "it is Better Auth's, made by its own migration (`npx @better-auth/cli migrate`, better-auth in {}/package.json)",
                    s.dir
                ),
                at_start: false,
            });
        }
    }
    for file in files_with(root, &[".sql"], 4) {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        let upper = text.to_ascii_uppercase();
        let made = upper.match_indices("CREATE TABLE ").find(|(at, _)| {
            sql_name(&text[at + "CREATE TABLE ".len()..]).as_deref() == Some(table)
        });
        if let Some((at, _)) = made {
            out.push(Origin {
                text: format!(
                    "{}:{} creates it",
                    relative(root, &file),
                    text[..at].matches('\n').count() + 1
                ),
                at_start: false,
            });
        }
    }
    out
}

/// The 1-based line of a model that declares `table`: `__tablename__ = "table"`,
/// `Table("table", …)`, or a SQLModel `class Table(…, table=True)` without a `__tablename__`
/// (SQLModel names the table after the class, lower-cased).
fn model_line(text: &str, table: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    for (n, l) in lines.iter().enumerate() {
        if let Some(rest) = l.trim_start().strip_prefix("__tablename__")
            && let Some(value) = rest.trim_start().strip_prefix('=')
            && leading_quoted(value).as_deref() == Some(table)
        {
            return Some(n + 1);
        }
        if calls(l, "Table(")
            .iter()
            .any(|(_, args)| leading_quoted(args).as_deref() == Some(table))
        {
            return Some(n + 1);
        }
        if let Some(rest) = l.strip_prefix("class ")
            && l.contains("table=True")
            && rest
                .split(['(', ':'])
                .next()
                .map(str::to_ascii_lowercase)
                .as_deref()
                == Some(table)
        {
            let body = lines[n + 1..]
                .iter()
                .take_while(|b| b.trim().is_empty() || b.starts_with([' ', '\t']));
            if !body.clone().any(|b| b.contains("__tablename__")) {
                return Some(n + 1);
            }
        }
    }
    None
}

/// Where the app calls `create_all` (`file:line`), and the function it sits in when nothing in
/// the app calls that function (`None` when it runs: at module level or from a called function).
fn create_all(app: &[(String, String)]) -> Option<(String, Option<String>)> {
    let mut uncalled = None;
    for (file, text) in app {
        let lines: Vec<&str> = text.lines().collect();
        for (n, l) in lines.iter().enumerate() {
            if !l.contains("create_all") || l.trim_start().starts_with('#') {
                continue;
            }
            let at = format!("{file}:{}", n + 1);
            let Some(function) = enclosing_function(&lines, n) else {
                return Some((at, None));
            };
            if called(app, &function) {
                return Some((at, None));
            }
            uncalled.get_or_insert((at, Some(function)));
        }
    }
    uncalled
}

/// The `def` (or `async def`) that line `n` sits in, by indentation.
fn enclosing_function(lines: &[&str], n: usize) -> Option<String> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut limit = indent(lines[n]);
    for l in lines[..n].iter().rev() {
        if l.trim().is_empty() || indent(l) >= limit {
            continue;
        }
        limit = indent(l);
        let t = l.trim_start();
        let t = t.strip_prefix("async ").unwrap_or(t);
        if let Some(rest) = t.strip_prefix("def ") {
            return rest.split('(').next().map(|s| s.trim().to_string());
        }
        if limit == 0 {
            break;
        }
    }
    None
}

/// Whether any line of the app names `function` other than its definition and imports (a call,
/// or a reference such as `lifespan=…` or an event handler).
fn called(app: &[(String, String)], function: &str) -> bool {
    app.iter().flat_map(|(_, t)| t.lines()).any(|l| {
        let t = l.trim_start();
        let definition = t.starts_with("def ") || t.starts_with("async def ");
        let import = t.starts_with("from ") || t.starts_with("import ");
        !definition
            && !import
            && !t.starts_with('#')
            && l.match_indices(function).any(|(at, _)| {
                let word = |c: char| c.is_alphanumeric() || c == '_';
                !l[..at].chars().next_back().is_some_and(word)
                    && !l[at + function.len()..].chars().next().is_some_and(word)
            })
    })
}

#[cfg(test)]
#[path = "migrations_tests.rs"]
mod tests;
