//! The hint shown with an error: the error types that reach the user, each
//! passing its sources' hints down ([`crate::hint::Hint`]). Apart from
//! `hints` (which `report` and `deploy` use) because it names `deploy`'s
//! error: one module for both made a cycle among the command modules.

use crate::hint::Hint;

/// The hint of the first error in `err`'s chain that has one (the CLI and
/// the MCP server show it).
///
/// The chain holds each wrapper once (a transparent wrapper stands in for
/// what it wraps), so this knows the error *types* that reach the user, each
/// of which passes its sources' hints down; a new top-level type belongs here.
pub fn of_chain(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|cause| as_hint(cause)?.hint())
}

fn as_hint<'a>(cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a dyn Hint> {
    use crate::apply::{ApplyError, rollback::RollbackError};
    use crate::cli::deploy::NoStackHere;
    use crate::dev::DevError;
    use crate::mcp::scale::ScaleError;
    use crate::pipeline::{DeployError, images::ImagesError, prepare::PrepareError};
    macro_rules! first_of {
        ($($error:ty),+) => {
            $(if let Some(err) = cause.downcast_ref::<$error>() {
                return Some(err);
            })+
        };
    }
    first_of!(
        ApplyError,
        DeployError,
        PrepareError,
        RollbackError,
        ImagesError,
        ScaleError,
        NoStackHere,
        DevError
    );
    None
}
