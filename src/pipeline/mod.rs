//! The pipeline composed once for every front end (scripted CLI, wizard,
//! rollback): values → render → images → apply. Each step is a call into
//! its own module; this one only orders them.

pub mod deploy;
pub mod images;
pub mod origin;
pub mod prepare;

pub use deploy::{DeployError, apply_prepared, apply_prepared_holding, deploy_values};
pub use images::{ImageSources, ImagesMode};
pub use prepare::{Prepared, prepare};
