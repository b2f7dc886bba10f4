//! `--help` of every command, as users read it: snapshots keep the texts
//! reviewable.

use std::process::Command;

fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .arg("--help")
        .env_remove("BERTH_RELEASE")
        .env_remove("BERTH_NAMESPACE")
        .env_remove("BERTH_KUBE_CONTEXT")
        .env_remove("BERTH_CACHE_DIR")
        .env_remove("SOURCE_DATE_EPOCH")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{args:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn help_texts() {
    for (name, args) in [
        ("berth", &[][..]),
        ("render", &["render"][..]),
        ("deploy", &["deploy"][..]),
        ("diff", &["diff"][..]),
        ("status", &["status"][..]),
        ("history", &["history"][..]),
        ("rollback", &["rollback"][..]),
        ("uninstall", &["uninstall"][..]),
        ("chart_export", &["chart", "export"][..]),
        ("schema", &["schema"][..]),
        ("init", &["init"][..]),
        ("doctor", &["doctor"][..]),
        ("diagnose", &["diagnose"][..]),
        ("logs", &["logs"][..]),
        ("dev", &["dev"][..]),
        ("completions", &["completions"][..]),
        ("man", &["man"][..]),
        ("mcp", &["mcp"][..]),
        ("aiops_export", &["aiops", "export"][..]),
    ] {
        insta::assert_snapshot!(format!("help_{name}"), help(args));
    }
}

#[test]
fn quiet_and_verbose_are_accepted_by_every_command() {
    for command in [
        "render",
        "deploy",
        "diff",
        "status",
        "history",
        "rollback",
        "uninstall",
        "schema",
        "doctor",
        "diagnose",
        "logs",
        "dev",
        "man",
    ] {
        for flag in ["--quiet", "-v", "--no-progress"] {
            let text = help(&[command, flag]);
            assert!(
                text.contains("--quiet") && text.contains("--verbose"),
                "{command} {flag}"
            );
        }
    }
}
