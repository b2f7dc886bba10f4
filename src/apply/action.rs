//! What the engine does to an object, in one vocabulary: the plan's
//! [`Action`] (with what it found out: a volume growth, why one is refused),
//! its [`Verb`] (the only words diff, deploy's progress, reports, JSON and MCP
//! use for it) and a deploy's typed result, [`Change`].

use super::ObjectKey;

/// What applying does to one object, with what the plan found out about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Unchanged,
    /// An immutable field changes: only delete and re-create can apply it.
    /// `expansion` says why it is not a volume growth done in place.
    Recreate {
        reason: String,
        expansion: Option<ExpansionRefused>,
    },
    /// A StatefulSet's volumes grow: expand the claims, re-create the object
    /// with its pods orphaned (pods and volumes untouched).
    Expand {
        claims: Vec<ClaimGrowth>,
    },
    /// Another field manager owns fields this object sets.
    Conflict {
        message: String,
    },
}

impl Action {
    pub fn verb(&self) -> Verb {
        match self {
            Action::Create => Verb::Create,
            Action::Update => Verb::Update,
            Action::Unchanged => Verb::Unchanged,
            Action::Recreate { .. } => Verb::Recreate,
            Action::Expand { .. } => Verb::Expand,
            Action::Conflict { .. } => Verb::Conflict,
        }
    }
}

/// A claim template whose storage request grows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Growth {
    pub template: String,
    pub from: String,
    pub to: String,
}

/// One live claim to expand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimGrowth {
    /// `PersistentVolumeClaim namespace/name`.
    pub claim: String,
    pub name: String,
    pub from: String,
    pub to: String,
}

/// Why the volumes cannot grow in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpansionRefused {
    pub growth: Growth,
    /// The claim's StorageClass (empty: the claim has none).
    pub class: String,
    /// `does not allow volume expansion`, or why the class could not be read.
    pub why: String,
}

impl std::fmt::Display for ExpansionRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Growth { template, from, to } = &self.growth;
        write!(
            f,
            "volume `{template}` cannot grow from {from} to {to} in place: StorageClass `{}` {}",
            self.class, self.why
        )
    }
}

/// What is done to an object, as a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    Create,
    Update,
    Recreate,
    Expand,
    Unchanged,
    Conflict,
    /// Deleted because the release no longer renders it.
    Prune,
}

impl Verb {
    /// The word for what would be done: `create`, `update`, …, `prune`.
    pub fn word(self) -> &'static str {
        match self {
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Recreate => "recreate",
            Verb::Expand => "expand",
            Verb::Unchanged => "unchanged",
            Verb::Conflict => "conflict",
            Verb::Prune => "prune",
        }
    }

    /// The word for what was done: `created`, `updated`, …, `pruned`.
    pub fn done(self) -> &'static str {
        match self {
            Verb::Create => "created",
            Verb::Update => "updated",
            Verb::Recreate => "recreated",
            Verb::Expand => "expanded",
            Verb::Unchanged => "unchanged",
            Verb::Conflict => "conflict",
            Verb::Prune => "pruned",
        }
    }
}

impl std::fmt::Display for Verb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.word())
    }
}

/// One object a deploy wrote or deleted, and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub object: ObjectKey,
    pub verb: Verb,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_verb_has_its_own_words_from_one_stem() {
        let all = [
            Verb::Create,
            Verb::Update,
            Verb::Recreate,
            Verb::Expand,
            Verb::Unchanged,
            Verb::Conflict,
            Verb::Prune,
        ];
        let words: std::collections::BTreeSet<&str> = all.iter().map(|v| v.word()).collect();
        assert_eq!(words.len(), all.len());
        for verb in all {
            // `updated` from `update`, `pruned` from `prune`: never another word.
            let stem = verb.word().trim_end_matches('e');
            assert!(verb.done().starts_with(stem), "{verb}: {}", verb.done());
        }
    }
}
