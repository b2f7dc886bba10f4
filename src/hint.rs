//! Hints: what the user can do about an error, defined on the error types
//! and passed down through the errors that wrap them, so a new wrapper keeps
//! the hint of what it wraps (its `match` must say so, or it does not compile).
//! The list of error types that reach the user is the CLI's
//! (`cli::hints::of_chain`): this trait names no layer, so every layer can
//! implement it without a dependency cycle.

/// What the user can do about this error, if anything.
pub trait Hint {
    fn hint(&self) -> Option<String>;
}
