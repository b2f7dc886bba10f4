//! docs/TROUBLESHOOTING.md names berth commands inline, with placeholders
//! (`berth logs COMPONENT --previous`), so they cannot be run as written (the
//! runnable guides are run by tests/cluster_docs.rs). Each must still be a real
//! command: its subcommand exists and every flag it shows is one that
//! subcommand accepts.

use std::process::Command;

const GUIDE: &str = include_str!("../docs/TROUBLESHOOTING.md");

/// The inline code spans that start with `berth `.
fn berth_commands(text: &str) -> Vec<&str> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.starts_with("berth "))
        .collect()
}

fn help(words: &[&str]) -> Option<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(words)
        .arg("--help")
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn every_berth_command_in_the_troubleshooting_guide_exists_with_its_flags() {
    let commands = berth_commands(GUIDE);
    assert!(commands.len() >= 5, "{commands:?}");
    for command in commands {
        let tokens: Vec<&str> = command.split_whitespace().skip(1).collect();
        // Subcommand words are lowercase and come before any flag, placeholder or option.
        let words: Vec<&str> = tokens
            .iter()
            .copied()
            .take_while(|t| t.chars().all(|c| c.is_ascii_lowercase()))
            .collect();
        let text = help(&words).unwrap_or_else(|| panic!("`{command}`: no such berth command"));
        for flag in tokens.iter().filter(|t| t.starts_with('-')) {
            let flag = flag.trim_matches(|c| c == '[' || c == ']');
            let flag = flag.split('=').next().unwrap();
            assert!(
                text.contains(flag),
                "`{command}`: `berth {}` has no flag {flag}",
                words.join(" ")
            );
        }
    }
}

#[test]
fn the_extraction_reads_inline_spans_only() {
    let doc = "run `berth logs X --previous` or `kubectl get pods`; ```sh\nberth x\n```";
    assert_eq!(berth_commands(doc), ["berth logs X --previous"]);
}
