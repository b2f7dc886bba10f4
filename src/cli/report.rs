//! The output of every deploy (scripted, wizard, rollback): live progress
//! from the engine's events, then the outcome in words with a hint.

use std::time::Duration;

use crate::apply::{DeployReport, Event, Phase, Readiness, Release, Verb};
use crate::ui::{LiveLines, Printer};

use super::Outcome;
use super::hints;

/// Shows the engine's events: a live line per workload, a line per write;
/// with `-v`, the time each phase took.
pub struct DeployProgress {
    lines: LiveLines,
    printer: Printer,
    phases: Vec<(Phase, Duration)>,
}

impl DeployProgress {
    pub fn new(printer: &Printer) -> Self {
        DeployProgress {
            lines: printer.live_lines(),
            printer: printer.clone(),
            phases: vec![],
        }
    }

    pub fn event(&mut self, event: Event) {
        match event {
            Event::Rollout { object, summary } => self.lines.set(&object, &summary),
            Event::Changed { object, verb } => {
                self.lines.line(&format!("{object} {}", verb.done()))
            }
            Event::Expanded { claim, from, to } => self
                .lines
                .line(&format!("{claim} expanded from {from} to {to}")),
            Event::HistoryTrimmed { revisions, keep } => {
                let numbers: Vec<String> = revisions.iter().map(u32::to_string).collect();
                self.lines.line(&format!(
                    "history: removed revision {} (--history-max {keep})",
                    numbers.join(", ")
                ))
            }
            Event::HistoryKept { error } => self
                .lines
                .line(&format!("history: old revisions kept: {error}")),
            Event::WatchInterrupted { why } => self.lines.line(&format!(
                "watch interrupted ({why}); resuming from a fresh list"
            )),
            Event::Phase { phase, elapsed } => self.phases.push((phase, elapsed)),
        }
    }

    pub fn finish(mut self) {
        self.lines.finish();
        if !self.phases.is_empty() {
            self.printer.detail(&timings_line(&mut self.phases));
        }
    }
}

/// `timings: render 0.004 s, lock 0.011 s, …`, in the order phases run.
pub fn timings_line(phases: &mut [(Phase, Duration)]) -> String {
    phases.sort_by_key(|(phase, _)| *phase);
    let parts: Vec<String> = phases
        .iter()
        .map(|(phase, elapsed)| format!("{} {:.3} s", phase.name(), elapsed.as_secs_f64()))
        .collect();
    format!("timings: {}", parts.join(", "))
}

/// One line of a deploy's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Status(String),
    /// Shown even with `--quiet`.
    Failure(String),
    Hint(String),
}

/// Prints the outcome of a deploy; Failed when the release is not ready.
pub fn deploy_outcome(
    printer: &Printer,
    release: &Release,
    report: &DeployReport,
    minikube: bool,
    open: Option<&str>,
) -> Outcome {
    let (lines, outcome) = outcome_lines(release, report, minikube, open);
    for line in lines {
        match line {
            Line::Status(text) => printer.status(&text),
            Line::Failure(text) => printer.failure(&text),
            Line::Hint(text) => printer.hint(&text),
        }
    }
    outcome
}

/// The outcome of a deploy in words; `open` says where to open the app once
/// it is ready.
pub fn outcome_lines(
    release: &Release,
    report: &DeployReport,
    minikube: bool,
    open: Option<&str>,
) -> (Vec<Line>, Outcome) {
    let mut lines = vec![Line::Status(match report.revision {
        Some(number) => {
            let count = |verb: Verb| format!("{} {}", report.count(verb), verb.done());
            let mut counts = vec![
                count(Verb::Create),
                count(Verb::Update),
                count(Verb::Recreate),
            ];
            if report.count(Verb::Expand) > 0 {
                counts.push(count(Verb::Expand));
            }
            counts.push(format!("{} {}", report.unchanged, Verb::Unchanged.done()));
            counts.push(count(Verb::Prune));
            format!("revision {number}: {}", counts.join(", "))
        }
        None => format!("no changes: {} objects unchanged", report.unchanged),
    })];
    for kept in &report.kept {
        lines.push(Line::Status(format!("kept {kept}")));
    }
    let outcome = match &report.readiness {
        Readiness::Ready => {
            lines.push(Line::Status(format!("release {} is ready", release.name)));
            if let Some(open) = open {
                lines.push(Line::Status(open.to_string()));
            }
            Outcome::Success
        }
        Readiness::Failed { object, cause } => {
            lines.push(Line::Failure(format!("{object} is not ready: {cause}")));
            lines.push(Line::Hint(hints::for_cause(
                cause,
                &release.namespace,
                minikube,
            )));
            Outcome::Failed
        }
        Readiness::TimedOut { waiting } => {
            lines.push(Line::Failure("timed out waiting for readiness:".into()));
            lines.extend(waiting.iter().map(|w| Line::Status(format!("  {w}"))));
            lines.push(Line::Hint(
                "berth status shows the current state; raise --timeout if the images are slow to pull"
                    .into(),
            ));
            Outcome::Failed
        }
    };
    (lines, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{Cause, Change, ObjectKey};

    fn text(lines: &[Line]) -> String {
        lines
            .iter()
            .map(|line| match line {
                Line::Status(t) => format!("{t}\n"),
                Line::Failure(t) => format!("error: {t}\n"),
                Line::Hint(t) => format!("hint: {t}\n"),
            })
            .collect()
    }

    fn report(readiness: Readiness) -> DeployReport {
        let change = |kind: &str, name: &str, verb| Change {
            object: ObjectKey {
                stage: 2,
                api_version: "v1".into(),
                kind: kind.into(),
                namespace: Some("todo".into()),
                name: name.into(),
            },
            verb,
        };
        DeployReport {
            changes: vec![
                change("Deployment", "web", Verb::Create),
                change("ConfigMap", "web", Verb::Update),
                change("StatefulSet", "db", Verb::Expand),
            ],
            unchanged: 7,
            kept: vec![
                "PersistentVolumeClaim todo/old: volume data is kept without --delete-data".into(),
            ],
            revision: Some(3),
            readiness,
        }
    }

    #[test]
    fn deploy_outcomes_in_words() {
        let release = Release::new("todo-chatbot", "todo");
        let (ready, outcome) = outcome_lines(
            &release,
            &report(Readiness::Ready),
            false,
            Some("open http://192.168.49.2:30080"),
        );
        assert_eq!(outcome, Outcome::Success);
        insta::assert_snapshot!("deploy_ready", text(&ready));
        let failed = Readiness::Failed {
            object: "Deployment todo/todo-chatbot-web".into(),
            cause: Cause::CrashLoop {
                pod: "todo-chatbot-web-1".into(),
                container: "web".into(),
                exit: Some("1 (Error)".into()),
                logs: vec![
                    "Traceback (most recent call last):".into(),
                    "KeyError: 'STORE_URL'".into(),
                ],
            },
        };
        let (failed, outcome) = outcome_lines(&release, &report(failed), true, None);
        assert_eq!(outcome, Outcome::Failed);
        insta::assert_snapshot!("deploy_crash_loop", text(&failed));
        let timed_out = Readiness::TimedOut {
            waiting: vec!["Deployment todo/todo-chatbot-web: 1/2 ready, 1 updated".into()],
        };
        let (timed_out, _) = outcome_lines(&release, &report(timed_out), false, None);
        insta::assert_snapshot!("deploy_timed_out", text(&timed_out));
    }
}
