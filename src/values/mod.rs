//! The values model: typed settings for the whole stack, how they are layered
//! from defaults, files, flags and the environment, and how they are validated.

pub mod build_env;
pub mod env_names;
pub mod env_rules;
pub mod error;
pub mod keys;
pub mod load;
pub mod model;
pub mod quantity;
pub mod reference;
pub mod registry;
pub mod routes;
pub mod schema;
pub mod secrets;
pub mod set_args;
pub mod tls;
pub mod validate;

pub use error::{Problem, Problems, ValuesError};
pub use load::{
    DEFAULT_VALUES_YAML, DEV_VALUES_YAML, Environment, OverlayEnv, PROD_VALUES_YAML, ProcessEnv,
    ValueSources, load, load_unchecked_secrets,
};
pub use model::*;
pub use secrets::{missing_secrets, supply_hint};
