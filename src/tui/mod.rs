//! The terminal UI: state and `update` (app), drawing (render), keys
//! (keymap), colours (theme), the terminal guard, logging and the event loop.

pub mod app;
pub mod clock;
mod encoder;
pub mod flow;
pub mod health;
pub mod keymap;
pub mod logging;
pub mod popup;
mod quiet_backend;
pub mod render;
pub mod request;
pub mod run;
pub mod sample;
mod sgr;
pub mod terminal;
pub mod theme;
pub mod view;

#[cfg(test)]
mod app_tests;
#[cfg(test)]
mod emulator_tests;
#[cfg(test)]
mod encoder_tests;
#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod popup_tests;
#[cfg(test)]
mod render_layout_tests;
#[cfg(test)]
mod render_tests;

pub use app::{
    ActionCommand, ActionEvent, ActionKind, ActionPreview, ActionReport, ActionRequest,
    ActionTarget, App, AppSettings, Effect, Msg, Pane, PreviewRow, ReportRow, update,
};
pub use run::{ActionChannel, run};
