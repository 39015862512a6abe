//! The terminal UI: state and `update` (app), drawing (render), keys
//! (keymap), colours (theme), the terminal guard, logging and the event loop.

pub mod app;
pub mod keymap;
pub mod logging;
pub mod render;
pub mod request;
pub mod run;
pub mod sample;
pub mod terminal;
pub mod theme;
pub mod view;

#[cfg(test)]
mod app_tests;
#[cfg(test)]
mod render_tests;

pub use app::{
    ActionKind, ActionOutcome, ActionRequest, ActionTarget, App, AppSettings, Effect, Msg, Pane,
    update,
};
pub use run::{ActionChannel, run};
