//! Screen snapshots (TestBackend, fixed clock and data) and cell-style checks.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::{Frame, Terminal};

use super::details as detail;
use super::render::{self, error_rates, findings, footer, header, running};
use super::sample;
use super::sample::update;
use super::state::App;
use super::theme::Theme;
use super::update::Msg;

pub(super) fn sized(mut app: App, width: u16, height: u16) -> App {
    update(&mut app, Msg::Resize { width, height });
    app
}

pub(super) fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| {
            render::render(f, app);
        })
        .unwrap();
    terminal
}

pub(super) fn draw_part(
    app: &App,
    width: u16,
    height: u16,
    part: fn(&mut Frame, Rect, &App),
) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| part(f, f.area(), app)).unwrap();
    terminal
}

pub(super) fn press(app: &mut App, code: KeyCode) {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

/// Where `text` starts on screen.
pub(super) fn find(buf: &Buffer, text: &str) -> (u16, u16) {
    find_from(buf, text, 0)
}

/// Where `text` starts on screen, on row `from` or below.
pub(super) fn find_from(buf: &Buffer, text: &str, from: u16) -> (u16, u16) {
    let area = buf.area;
    for y in from..area.height {
        let line: String = (0..area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        if let Some(byte) = line.find(text) {
            let x = line[..byte].chars().count() as u16;
            return (x, y);
        }
    }
    panic!("{text:?} not on screen");
}

#[test]
fn whole_screen_80x24() {
    let app = sized(sample::app(false), 80, 24);
    insta::assert_snapshot!(draw(&app, 80, 24).backend());
}

#[test]
fn whole_screen_160x48() {
    let app = sized(sample::app(false), 160, 48);
    insta::assert_snapshot!(draw(&app, 160, 48).backend());
}

#[test]
fn whole_screen_250x70_with_log_read_only() {
    let mut app = sized(sample::app(true), 250, 70);
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('l'), KeyModifiers::NONE)),
    );
    let t = draw(&app, 250, 70);
    let buf = t.backend().buffer();
    find(buf, " Log ");
    find(buf, "read-only");
}

/// A role that cannot write runs read-only and the header says why; a
/// plain read-write screen says read-write (the positive control).
#[test]
fn the_header_says_why_exectop_cannot_write() {
    let app = sized(sample::app(false), 160, 48);
    find(draw(&app, 160, 48).backend().buffer(), "read-write");
    let mut app = sample::app(false);
    app.settings.no_write_access = Some(crate::store::StoreError::NoUpdatePrivilege {
        table: "\"public\".\"runs\"".into(),
    });
    let app = sized(app, 160, 48);
    find(
        draw(&app, 160, 48).backend().buffer(),
        "read-only (no UPDATE privilege)",
    );
}

#[test]
fn too_small_terminal_says_so() {
    let app = sized(sample::app(false), 59, 15);
    insta::assert_snapshot!(draw(&app, 59, 15).backend());
    for (w, h) in [(1, 1), (60, 14), (0, 0)] {
        draw(&app, w, h);
    }
}

#[test]
fn waiting_for_first_poll() {
    let app = sized(App::new(sample::settings(false), sample::now()), 80, 24);
    insta::assert_snapshot!(draw(&app, 80, 24).backend());
}

#[test]
fn panes_one_by_one() {
    let app = sized(sample::app(false), 100, 30);
    insta::assert_snapshot!("header", draw_part(&app, 100, 2, header::render).backend());
    insta::assert_snapshot!(
        "running",
        draw_part(&app, 100, 10, running::render).backend()
    );
    insta::assert_snapshot!(
        "findings",
        draw_part(&app, 100, 6, findings::render).backend()
    );
    insta::assert_snapshot!(
        "error_rates",
        draw_part(&app, 70, 10, error_rates::render).backend()
    );
    insta::assert_snapshot!("footer", draw_part(&app, 100, 1, footer::render).backend());
    // Nothing in the test process installs the tui-logger layer: an empty pane.
    insta::assert_snapshot!(
        "log",
        draw_part(&app, 60, 4, |f, area, app| {
            let block = render::pane_block(app, super::state::Pane::Log, "Log".to_string());
            super::log_pane::render(f, area, block, app.theme());
        })
        .backend()
    );
}

#[test]
fn help_popup() {
    let mut app = sized(sample::app(false), 80, 34);
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE)),
    );
    insta::assert_snapshot!(draw(&app, 80, 34).backend());
}

#[test]
fn help_popup_scrolls_on_a_small_screen() {
    let mut app = sized(sample::app(true), 80, 24);
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE)),
    );
    for _ in 0..50 {
        press(&mut app, KeyCode::Down);
    }
    insta::assert_snapshot!(draw(&app, 80, 24).backend());
}

#[test]
fn detail_popup_for_an_execution_pretty_prints_json_errors() {
    let mut app = sized(sample::app(false), 100, 40);
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(draw(&app, 100, 40).backend());
}

#[test]
fn detail_popup_for_a_finding() {
    let mut app = sized(sample::app(false), 100, 48);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(draw(&app, 100, 48).backend());
}

#[test]
fn pretty_error_indents_json_and_leaves_text_alone() {
    assert_eq!(detail::pretty_error(r#"{"a":1}"#), "{\n  \"a\": 1\n}");
    assert_eq!(detail::pretty_error("plain failure"), "plain failure");
    assert_eq!(
        detail::pretty_error("42"),
        "42",
        "a bare number is not worth indenting"
    );
}

#[test]
fn stale_data_is_marked_in_pane_titles() {
    let mut app = sized(sample::app(false), 80, 24);
    update(
        &mut app,
        Msg::Tick(sample::now() + chrono::Duration::seconds(40)),
    );
    let t = draw(&app, 80, 24);
    let buf = t.backend().buffer();
    find(buf, "(stale 42s)");
    let (_, running_y) = find(buf, "Running 6");
    let (_, stale_y) = find(buf, "(stale 42s)");
    assert_eq!(running_y, stale_y);
}

/// A fresh source shows no poll age (it would rewrite the header every
/// second); a stale one, a degraded tracker and a paused monitor show it.
#[test]
fn the_header_shows_poll_ages_only_when_they_say_something() {
    let mut app = sized(sample::app(false), 160, 48);
    let header = |app: &App| {
        let t = draw(app, 160, 48);
        let buf = t.backend().buffer();
        (0..160)
            .map(|x| buf[(x, 0)].symbol().to_string())
            .collect::<String>()
    };
    let fresh = header(&app);
    assert!(!fresh.contains("polled"), "{fresh}");
    assert!(fresh.contains("14:03 UTC"), "{fresh}");

    update(
        &mut app,
        Msg::Tick(sample::now() + chrono::Duration::seconds(40)),
    );
    let stale = header(&app);
    assert!(stale.contains("db ok · polled 42s ago"), "{stale}");
    assert!(!stale.contains("remote ok 120ms · polled"), "{stale}");

    let mut paused = sized(sample::app(false), 160, 48);
    paused.paused = true;
    let line = header(&paused);
    assert!(line.contains("db ok · polled 2s ago"), "{line}");
}

/// A round trip changes every poll: under 100 ms it is left out, so an idle
/// wall terminal's header does not change with it.
#[test]
fn the_header_shows_a_latency_only_when_it_is_notable() {
    let line = |db_ms: u64| {
        let mut app = sized(sample::app(false), 160, 48);
        std::sync::Arc::make_mut(&mut app.snapshot)
            .database
            .latency_ms = Some(db_ms);
        let t = draw(&app, 160, 48);
        let buf = t.backend().buffer();
        (0..160)
            .map(|x| buf[(x, 0)].symbol().to_string())
            .collect::<String>()
    };
    assert!(
        line(99).contains(" db ok  remote ok 120ms "),
        "{}",
        line(99)
    );
    assert!(line(3).contains(" db ok  remote"), "{}", line(3));
    assert!(line(100).contains(" db ok 100ms  remote"), "{}", line(100));
    assert!(
        line(2400).contains(" db ok 2400ms  remote"),
        "{}",
        line(2400)
    );
}

#[test]
fn filter_input_shows_in_the_footer() {
    let mut app = sized(sample::app(false), 80, 24);
    for c in "/etl".chars() {
        update(
            &mut app,
            Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
    let t = draw(&app, 80, 24);
    let (_, y) = find(t.backend().buffer(), "filter: etl█");
    assert_eq!(y, 23);
    find(t.backend().buffer(), "Running 5 of 6");
}

#[test]
fn status_colours_in_the_running_pane() {
    let app = sized(sample::app(false), 160, 48);
    let t = draw(&app, 160, 48);
    let buf = t.backend().buffer();
    let (_, row) = find(buf, "job-101");
    let (x, y) = find_from(buf, "pending", row);
    assert_eq!(y, row);
    assert_eq!(buf[(x, y)].fg, Color::Yellow);
    let (x, y) = find(buf, "IN_PROGRESS");
    assert_eq!(
        buf[(x, y)].fg,
        Color::Cyan,
        "a raw spelling is coloured by its canonical status"
    );
    let (x, y) = find(buf, "succeeded");
    assert_eq!(buf[(x, y)].fg, Color::Green);
    let (x, y) = find(buf, "ALERT ");
    assert_eq!(buf[(x, y)].bg, Color::Red);
}

#[test]
fn selected_row_is_highlighted_in_colour() {
    let app = sized(sample::app(false), 80, 24);
    let t = draw(&app, 80, 24);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "job-39");
    assert_eq!(buf[(x, y)].bg, Color::DarkGray);
}

#[test]
fn no_color_keeps_the_selection_visible_with_modifiers_only() {
    let mut app = sample::app(false);
    app.settings.theme = Theme::no_color();
    let app = sized(app, 80, 24);
    let t = draw(&app, 80, 24);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "job-39");
    let cell = &buf[(x, y)];
    assert!(
        cell.modifier.contains(Modifier::REVERSED),
        "{:?}",
        cell.modifier
    );
    assert_eq!(cell.bg, Color::Reset);
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            assert_eq!(
                (c.fg, c.bg),
                (Color::Reset, Color::Reset),
                "colour at {x},{y}"
            );
        }
    }
}

#[test]
fn windowed_render_draws_a_huge_list_quickly_and_correctly() {
    let mut app = sample::app(false);
    let mut snap = sample::sample_snapshot(sample::now());
    snap.active = (0..100_000)
        .map(|i| {
            std::sync::Arc::new(sample::execution(
                &i.to_string(),
                crate::domain::Status::Running,
                200_000 - i,
            ))
        })
        .collect();
    update(
        &mut app,
        Msg::Monitor(crate::monitor::MonitorEvent::Snapshot(std::sync::Arc::new(
            snap,
        ))),
    );
    let mut app = sized(app, 80, 24);
    press(&mut app, KeyCode::End);
    let t = draw(&app, 80, 24);
    let buf = t.backend().buffer();
    find(buf, "job-99999");
    find(buf, "Running 100000");
}

#[test]
fn every_size_from_the_minimum_up_draws_without_panicking() {
    for (width, height) in [
        (60, 15),
        (61, 16),
        (80, 24),
        (100, 20),
        (250, 70),
        (300, 15),
        (60, 90),
    ] {
        for keys in [
            &[][..],
            &['l'][..],
            &['\t', '\n'][..],
            &['?'][..],
            &['\n'][..],
        ] {
            let mut app = sized(sample::app(false), width, height);
            for &c in keys {
                let code = match c {
                    '\t' => KeyCode::Tab,
                    '\n' => KeyCode::Enter,
                    c => KeyCode::Char(c),
                };
                press(&mut app, code);
            }
            press(&mut app, KeyCode::End);
            let t = draw(&app, width, height);
            assert_eq!(t.backend().buffer().area.width, width);
        }
    }
}

mod action_popups {
    use super::*;
    use crate::store::AuditEntry;
    use crate::tui::confirm::PreviewState;
    use crate::tui::intent::{
        ActionEvent, ActionKind, ActionPreview, ActionReport, PreviewRow, ReportRow,
    };
    use crate::tui::popup::Popup;

    fn row(id: &str, after: Option<&str>, note: &str) -> PreviewRow {
        PreviewRow {
            id: id.into(),
            before: "running".into(),
            after: after.map(str::to_string),
            note: note.into(),
        }
    }

    fn with_popup(popup: Popup) -> App {
        let mut app = sized(sample::app(false), 80, 24);
        app.popup = Some(popup);
        app
    }

    #[test]
    fn reason_prompt() {
        let mut app = sized(sample::app(false), 80, 24);
        press(&mut app, KeyCode::Char('f'));
        for c in "worker crashed".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        insta::assert_snapshot!(draw(&app, 80, 24).backend());
    }

    #[test]
    fn single_row_preview() {
        let preview = ActionPreview {
            request_id: 1,
            kind: ActionKind::MarkFailed,
            rows: vec![row("39", Some("failed"), "reason: worker crashed")],
            note: Some(
                "remote runs are stopped first; a row is marked only once its remote confirms"
                    .into(),
            ),
        };
        let app = with_popup(Popup::Preview(PreviewState::new(preview)));
        insta::assert_snapshot!(draw(&app, 80, 24).backend());
    }

    #[test]
    fn bulk_preview_waiting_for_the_count() {
        let preview = ActionPreview {
            request_id: 1,
            kind: ActionKind::Reconcile,
            rows: vec![
                row("7", Some("succeeded"), "remote says SUCCEEDED"),
                row("12", Some("failed"), "remote says FAILED"),
                row("39", None, "already in step: remote says RUNNING"),
            ],
            note: None,
        };
        let app = with_popup(Popup::Preview(PreviewState {
            typed: "2".into(),
            ..PreviewState::new(preview)
        }));
        insta::assert_snapshot!(draw(&app, 80, 24).backend());
    }

    #[test]
    fn result_with_a_refusal() {
        let report = ActionReport {
            request_id: 1,
            kind: ActionKind::Reconcile,
            rows: vec![
                ReportRow {
                    id: "7".into(),
                    before: "running".into(),
                    after: Some("succeeded".into()),
                    applied: Ok(()),
                },
                ReportRow {
                    id: "12".into(),
                    before: "running".into(),
                    after: Some("failed".into()),
                    applied: Err(
                        "row is now succeeded (\"succeeded\"), not \"running\" as seen".into(),
                    ),
                },
            ],
        };
        let mut app = sized(sample::app(false), 80, 24);
        app.pending_request = Some(1);
        update(&mut app, Msg::Action(ActionEvent::Applied(report)));
        insta::assert_snapshot!(draw(&app, 80, 24).backend());
    }

    #[test]
    fn audit_log() {
        let entry =
            |mins: i64, action: &str, id: &str, after: &str, reason: Option<&str>| AuditEntry {
                at: Some(sample::now() - chrono::Duration::minutes(mins)),
                operator: "alice".into(),
                host: "ops-1".into(),
                action: action.into(),
                execution_id: id.into(),
                before: Some("running".into()),
                after: Some(after.into()),
                reason: reason.map(str::to_string),
                remote_status: None,
            };
        let app = with_popup(Popup::Audit(vec![
            entry(2, "mark_failed", "39", "failed", Some("worker crashed")),
            entry(65, "reconcile", "7", "succeeded", None),
        ]));
        insta::assert_snapshot!(draw(&app, 80, 24).backend());
    }
}

/// The sample with runtimes learned for two of its running jobs: `job-102`
/// (620 s in) usually takes 5 minutes, `job-39` (22 h in) 10 minutes.
fn with_learned_runtimes() -> App {
    use crate::domain::{Learned, RuntimeStats};
    let mut snap = sample::sample_snapshot(sample::now());
    let stats = |p95: f64| RuntimeStats {
        runs: 41,
        p50: p95 / 2.0,
        p95,
        max: p95 * 1.5,
    };
    snap.learned = std::sync::Arc::new(Learned {
        by_name: [
            ("job-102".to_string(), stats(300.0)),
            ("job-39".to_string(), stats(600.0)),
        ]
        .into(),
        window: std::time::Duration::from_secs(14 * 86_400),
        as_of: Some(sample::now()),
        unreadable: false,
    });
    let mut app = App::new(sample::settings(false), sample::now());
    update(
        &mut app,
        Msg::Monitor(crate::monitor::MonitorEvent::Snapshot(std::sync::Arc::new(
            snap,
        ))),
    );
    app
}

#[test]
fn the_running_pane_shows_progress_against_the_usual_duration() {
    let app = sized(with_learned_runtimes(), 100, 30);
    let t = draw_part(&app, 100, 10, running::render);
    insta::assert_snapshot!(t.backend());
    let buf = t.backend().buffer();
    // 620 s of a 300 s p95: past the p95, under the 15-minute limit.
    let (x, y) = find(buf, "207%");
    assert_eq!(buf[(x, y)].fg, Theme::dark().warn.fg.unwrap());
    // 22 h of a 10-minute p95: past the limit.
    let (x, y) = find(buf, "13260%");
    assert_eq!(buf[(x, y)].fg, Theme::dark().bad.fg.unwrap());
    // A job with nothing learned reads "-"; without any learned job the
    // column is not drawn at all (`panes_one_by_one`).
    find(buf, "/p95");
}

#[test]
fn the_details_show_the_jobs_runtimes_and_its_limit() {
    let mut app = sized(with_learned_runtimes(), 100, 48);
    for _ in 0..3 {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Enter);
    let screen = format!("{}", draw(&app, 100, 48).backend());
    assert!(screen.contains("── runtimes"), "{screen}");
    assert!(screen.contains("succeeded runs: 41 in 14d"), "{screen}");
    assert!(
        screen.contains("p50 · p95 · max: 2m 30s · 5m · 7m 30s"),
        "{screen}"
    );
    assert!(
        screen.contains("limit: 15m (3× p95, floor 5m); running 10m 20s (207% of p95)"),
        "{screen}"
    );
}

#[test]
fn no_progress_column_until_some_job_has_runs_enough_to_learn() {
    let mut app = sized(with_learned_runtimes(), 100, 30);
    let header = |app: &App| {
        let t = draw_part(app, 100, 10, running::render);
        let buf = t.backend().buffer();
        (0..buf.area.width)
            .map(|x| buf[(x, 1)].symbol().to_string())
            .collect::<String>()
    };
    assert!(header(&app).contains("/p95"), "{}", header(&app));
    // The same jobs with 19 runs each: read, but none learned.
    let mut snap = (*app.snapshot).clone();
    let mut learned = (*snap.learned).clone();
    for stats in learned.by_name.values_mut() {
        stats.runs = 19;
    }
    snap.learned = std::sync::Arc::new(learned);
    app.snapshot = std::sync::Arc::new(snap);
    assert!(!header(&app).contains("/p95"), "{}", header(&app));
}
