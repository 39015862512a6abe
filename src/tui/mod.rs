//! The terminal UI, one way round: the event loop (`run`) turns terminal
//! input, the monitor's snapshots, action answers and the clock into
//! messages; `update` changes the state (`state`) and returns effects for
//! the loop to perform; `render` draws the state and reports what the
//! frame measured. Nothing that draws changes state, and `update` never
//! lays anything out.
//!
//! Layers, each using only those above it in this list:
//! - the key table (`keymap`), colours (`theme`), plain data shared with
//!   the action layer (`intent`), scrolling and frame measures (`scroll`),
//!   drawing helpers (`wrap`, `render_util`, `popup_frame`);
//! - the features, each its state, its keys and its drawing: `filter`,
//!   `sort`, `marks`, `confirm` (reason, preview and result), `details`,
//!   `audit`, `help`, `log_pane`, `wall` (the `--wall` screen); then
//!   `popup`, the choice among them;
//! - `state`, the whole of it, and what reads it (`health`);
//! - `update` (with `clock`), and `render`, the panes and the open popup;
//! - the event loop (`run`), the terminal (`terminal`, `output`), logging.

pub mod audit;
pub mod clock;
pub mod confirm;
pub mod details;
pub mod filter;
pub mod health;
pub mod help;
pub mod intent;
pub mod keymap;
pub mod log_pane;
pub mod logging;
pub mod marks;
pub mod output;
pub mod popup;
pub mod popup_frame;
pub mod render;
pub mod render_util;
pub mod row_commands;
pub mod run;
pub mod sample;
pub mod scroll;
pub mod sort;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod triage;
pub mod update;
pub mod wall;
pub mod wrap;

#[cfg(test)]
mod app_tests;
#[cfg(test)]
mod content_layout_tests;
#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod layering_tests;
#[cfg(test)]
mod popup_tests;
#[cfg(test)]
mod remote_events_tests;
#[cfg(test)]
mod render_layout_tests;
#[cfg(test)]
mod render_tests;
#[cfg(test)]
mod row_commands_tests;
#[cfg(test)]
mod wall_tests;

pub use intent::{
    ActionCommand, ActionEvent, ActionKind, ActionPreview, ActionReport, ActionRequest,
    ActionTarget, PreviewRow, ReportRow,
};
pub use run::{ActionChannel, run};
pub use state::{App, AppSettings, Pane};
pub use update::{Effect, Msg, update};
