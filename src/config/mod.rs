//! Configuration: the TOML shape, layered loading (defaults ← file ← environment
//! ← flags), presets and validation.

pub mod types;

pub use types::*;
