//! `berth dev`: the inner loop. A watcher ([`watch`]) of the components' build inputs
//! ([`inputs`]) feeds the one pipeline — images, then apply — through a [`session`] that keeps
//! `berth open`'s local origins serving and the changed components' logs streaming; [`timing`]
//! says how long each change took. No deploy logic of its own: building, side-loading,
//! rendering, applying, waiting and the root cause are the pipeline's and the engine's. The one
//! shortcut is [`live`]: a component whose server reloads its own code gets an edit of its
//! copied files copied into its running containers.

pub mod fs_kind;
pub mod inputs;
pub mod live;
pub mod session;
pub mod timing;
pub mod watch;

pub use session::{DevError, DevEvent, DevSettings, Sink, run, watched_specs};
pub use timing::{Phases, Summary};
