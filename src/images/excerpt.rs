//! What a failed build step's output shows in berth's error: bounded, and keeping the lines
//! that say what went wrong.

/// Lines kept from the start, the middle (those naming errors) and the end.
const EXCERPT_HEAD: usize = 10;
const EXCERPT_TAIL: usize = 40;
const EXCERPT_CAUSES: usize = 40;
/// The bound of [`excerpt`]'s output (its `… (N lines)` markers aside).
pub const EXCERPT_LINES: usize = EXCERPT_HEAD + EXCERPT_CAUSES + EXCERPT_TAIL;

/// Lines of a failed step's output shown in the error: the first few (the command's own
/// start), the lines between that name an error (each with the line before it, often the file
/// it is about), the last ones (pip and npm end with their verdict), at most [`EXCERPT_LINES`]
/// in all. A build tool prints the cause in the middle of pages of progress ("Module not found:
/// Can't resolve …" then a stack of webpack frames), so cutting the middle blindly loses it.
pub fn excerpt(text: &str) -> String {
    let all: Vec<&str> = text.lines().collect();
    if all.len() <= EXCERPT_LINES {
        return all.join("\n");
    }
    let tail_start = all.len() - EXCERPT_TAIL;
    let mut keep = vec![false; all.len()];
    keep[..EXCERPT_HEAD].fill(true);
    keep[tail_start..].fill(true);
    let mut budget = EXCERPT_CAUSES;
    let middle = all[..tail_start].iter().enumerate().skip(EXCERPT_HEAD);
    for (i, line) in middle {
        if budget == 0 {
            break;
        }
        if names_an_error(line) {
            for j in [i - 1, i] {
                if !keep[j] && budget > 0 {
                    keep[j] = true;
                    budget -= 1;
                }
            }
        }
    }
    let mut shown = Vec::new();
    let mut skipped = 0;
    for (line, kept) in all.iter().zip(&keep) {
        if *kept {
            if skipped > 0 {
                shown.push(format!("… ({skipped} lines)"));
                skipped = 0;
            }
            shown.push((*line).to_owned());
        } else {
            skipped += 1;
        }
    }
    shown.join("\n")
}

/// Whether an output line says what went wrong (compilers', bundlers', npm's, pip's and
/// Python's ways of saying it).
fn names_an_error(line: &str) -> bool {
    const MARKERS: [&str; 12] = [
        "error",
        "ERR!",
        "Can't resolve",
        "Cannot find",
        "not found",
        "No matching distribution",
        "Could not find",
        "Traceback",
        "FAILED",
        "fatal:",
        "panicked",
        "Failed to compile",
    ];
    let lower = line.to_ascii_lowercase();
    lower.contains("error") || MARKERS.iter().any(|m| line.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_output_keeps_its_first_and_last_lines() {
        let text: String = (1..=200).map(|n| format!("line {n}\n")).collect();
        let shown = excerpt(&text);
        assert!(
            shown.starts_with("line 1\n") && shown.ends_with("line 200"),
            "{shown}"
        );
        assert!(
            shown.contains("line 10\n… (150 lines)\nline 161"),
            "{shown}"
        );
        assert_eq!(excerpt("a\nb"), "a\nb");
    }

    /// A bundler's cause sits in the middle of pages of progress and stack frames: the excerpt
    /// keeps every line that names an error (with the line before it), within its bound.
    #[test]
    fn the_excerpt_keeps_the_lines_that_name_the_error() {
        let mut lines: Vec<String> = (1..=300).map(|n| format!("progress {n}")).collect();
        lines[150] = "./src/app/page.tsx".into();
        lines[151] = "Module not found: Can't resolve '@/lib/api'".into();
        lines[200] = "npm ERR! code ELIFECYCLE".into();
        lines[220] = "ModuleNotFoundError: No module named 'x'".into();
        lines[230] = "Type error: Property 'id' does not exist".into();
        let shown = excerpt(&lines.join("\n"));
        for want in [
            "./src/app/page.tsx\nModule not found: Can't resolve '@/lib/api'",
            "npm ERR! code ELIFECYCLE",
            "ModuleNotFoundError: No module named 'x'",
            "Type error: Property 'id' does not exist",
            "progress 1\n",
            "progress 300",
        ] {
            assert!(shown.contains(want), "{want:?} missing from:\n{shown}");
        }
        assert!(!shown.contains("progress 100\n"), "{shown}");

        // Bounded however many lines name errors: the first ones are kept (the cause comes first).
        let noisy: String = (1..=1000).map(|n| format!("error {n}\n")).collect();
        let shown = excerpt(&noisy);
        let kept = shown.lines().filter(|l| !l.starts_with('…')).count();
        assert_eq!(kept, EXCERPT_LINES, "{shown}");
        assert!(shown.contains("error 11\nerror 12"), "{shown}");
        assert!(shown.ends_with("error 1000"), "{shown}");
    }
}
