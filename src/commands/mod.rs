//! One module per subcommand; `main` only dispatches to them.

pub mod act;
pub mod actions;
pub mod check;
pub mod demo;
pub mod live;
pub mod migrate;
pub mod setup;

pub use setup::Failure;
