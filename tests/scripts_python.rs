//! The Python our scripts run (`python3 -c '…'` snippets in scripts/**/*.sh and the
//! scripts/**/*.py files) compiles with this machine's python3, the one the scripts run
//! with (Debian 12's 3.11): bench-node.sh once stopped on quotes nested in an f-string,
//! which only Python 3.12 accepts, and nothing ran it until the real node was up.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The single-quoted programs given to `python3 -c` (bash single quotes have no escapes:
/// the next `'` ends the program).
fn snippets(script: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = script;
    while let Some(at) = rest.find("python3 -c '") {
        let body = &rest[at + "python3 -c '".len()..];
        let end = body.find('\'').expect("an unclosed python3 -c '…'");
        found.push(body[..end].to_string());
        rest = &body[end + 1..];
    }
    found
}

/// `None` when python3 compiles `source`, else its error.
fn compile_error(name: &str, source: &str) -> Option<String> {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import sys; compile(sys.stdin.read(), sys.argv[1], 'exec')",
            name,
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(source.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_python_in_scripts_compiles_with_this_python3() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    files(&root.join("scripts"), &mut all);
    let mut checked = 0;
    let mut errors = Vec::new();
    for path in all {
        let name = path.strip_prefix(root).unwrap().display().to_string();
        let sources: Vec<String> = match path.extension().and_then(|e| e.to_str()) {
            Some("sh") => snippets(&std::fs::read_to_string(&path).unwrap()),
            Some("py") => vec![std::fs::read_to_string(&path).unwrap()],
            _ => continue,
        };
        for source in sources {
            checked += 1;
            if let Some(err) = compile_error(&name, &source) {
                errors.push(format!("{name}: {err}"));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // bench-node.sh's pod timing alone is one; the scripts hold many more.
    assert!(checked >= 10, "only {checked} Python programs found");
}

#[test]
fn a_quote_nested_in_an_f_string_is_caught_before_python_3_12() {
    let version = Command::new("python3")
        .args(["-c", "import sys; print(sys.version_info[1])"])
        .output()
        .unwrap();
    let minor: u32 = String::from_utf8_lossy(&version.stdout)
        .trim()
        .parse()
        .unwrap();
    // The line bench-node.sh had: valid from 3.12 on, a syntax error before.
    let nested = "p = {\"a\": 1}\nprint(f\"{p[\"a\"]}\")\n";
    assert_eq!(compile_error("nested", nested).is_some(), minor < 12);
    assert_eq!(
        snippets("x | python3 -c '\nprint(1)\n'\ny | python3 -c 'print(2)'"),
        ["\nprint(1)\n", "print(2)"]
    );
}
