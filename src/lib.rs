//! exectop: watch job executions live and clean up the ones that went wrong.
//!
//! The binary (`src/main.rs`) only wires these modules together.

pub mod actions;
pub mod agent;
pub mod cli;
pub mod commands;
pub mod config;
pub mod domain;
pub mod memory;
pub mod monitor;
pub mod notify;
pub mod remote;
pub mod runner;
pub mod sim;
pub mod store;
pub mod text;
pub mod tui;
