//! Configuration: the TOML shape, layered loading (defaults ← file ← environment
//! ← flags), presets and validation.

pub mod commands;
pub mod job_thresholds;
pub mod load;
pub mod types;
pub mod validate;

pub use load::{ConfigError, Loaded, Overrides, is_safe_identifier, load, parse_str, validate};
pub use types::*;
