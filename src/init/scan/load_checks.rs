//! Variables a module refuses to load without: a top-level `if (!process.env.NAME) throw …`, or
//! `const url = process.env.NAME;` followed by a top-level `if (!url) throw …`. `next build`
//! loads every route module to collect page data, so such a check fails the build when the
//! variable is unset there — although the code only needs it to exist, not to be the real
//! value (connections are made when a request comes).

/// `(1-based line, NAME)` of each presence check at a module's top level.
pub fn presence_checks(code: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = code.lines().collect();
    // Top-level aliases: `const url = process.env.NAME` (with `;`, `!`, `??` … after it).
    let mut aliases: Vec<(String, String)> = Vec::new();
    for line in &lines {
        let Some(rest) = ["const ", "let ", "var "]
            .iter()
            .find_map(|k| line.strip_prefix(k))
        else {
            continue;
        };
        let Some((ident, value)) = rest.split_once('=') else {
            continue;
        };
        let ident = ident.split(':').next().unwrap_or("").trim();
        if let Some(name) = env_name(value.trim_start().strip_prefix("process.env.")) {
            aliases.push((ident.to_string(), name));
        }
    }
    let mut found = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let Some(cond) = line
            .strip_prefix("if (!")
            .or_else(|| line.strip_prefix("if(!"))
        else {
            continue;
        };
        let name = match env_name(cond.strip_prefix("process.env.")) {
            Some(name) => name,
            None => {
                let ident: String = cond
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
                    .collect();
                match aliases.iter().find(|(a, _)| *a == ident) {
                    Some((_, name)) => name.clone(),
                    None => continue,
                }
            }
        };
        let throws = lines[n..lines.len().min(n + 4)]
            .iter()
            .any(|l| l.contains("throw "));
        if throws {
            found.push((n + 1, name));
        }
    }
    found
}

/// `(1-based line, names)` of an error the code raises unless one of several variables it
/// reads is set (`raise ValueError("Either A or B must be set")`, `throw new Error("A or B
/// is required")`): each is optional alone, but the app does not start with none.
pub fn either_checks(code: &str, reads: &[&str]) -> Vec<(usize, Vec<String>)> {
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        if !(line.contains("raise ") || line.contains("throw ")) || !line.contains(" or ") {
            continue;
        }
        let words: Vec<&str> = line
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .collect();
        // In the order the line names them: the first is the one the team names first.
        let mut names: Vec<String> = Vec::new();
        for word in &words {
            if reads.contains(word) && !names.iter().any(|n| n == word) {
                names.push(word.to_string());
            }
        }
        if names.len() >= 2 {
            found.push((n + 1, names));
        }
    }
    found
}

fn env_name(rest: Option<&str>) -> Option<String> {
    let name: String = rest?
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_unless_one_of_several_variables_is_set() {
        let code = "if settings.a_key:\n    pass\nelse:\n    raise ValueError(\"Either A_KEY or B_KEY must be set in environment\")\n\
log(\"A_KEY or B_KEY\")\nthrow new Error('A_KEY or C_KEY is required');\n";
        assert_eq!(
            either_checks(code, &["A_KEY", "B_KEY", "D"]),
            [(4, vec!["A_KEY".to_string(), "B_KEY".to_string()])]
        );
        assert!(either_checks(code, &["A_KEY"]).is_empty(), "one name only");
        assert_eq!(
            either_checks("raise E('Set Z_KEY or A_KEY')", &["A_KEY", "Z_KEY"]),
            [(1, vec!["Z_KEY".to_string(), "A_KEY".to_string()])],
            "in the order the message names them"
        );
    }

    #[test]
    fn only_top_level_checks_that_throw_count() {
        let code = "import { x } from 'y';\n\
if (!process.env.DATABASE_URL) {\n  throw new Error('DATABASE_URL is required');\n}\n\
const secret: string | undefined = process.env.SIGNING_KEY;\n\
if (!secret) throw new Error('no key');\n\
if (!process.env.OPTIONAL_FLAG) {\n  console.warn('flag unset');\n}\n\
export function handler() {\n  if (!process.env.LATE) {\n    throw new Error('late');\n  }\n}\n";
        assert_eq!(
            presence_checks(code),
            [
                (2, "DATABASE_URL".to_string()),
                (6, "SIGNING_KEY".to_string())
            ]
        );
    }
}
