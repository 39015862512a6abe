//! When the 1 Hz clock redraws the screen.
//!
//! A redraw builds the whole frame (0.6–0.9 ms at 160×48), and on an idle
//! wall terminal most seconds change nothing on it: ages past the first
//! minute are shown in minutes, all of them moving when the wall clock's
//! minute turns (`table_age_seconds`), the header's clock too. So the clock
//! redraws every second only while something on screen counts seconds;
//! otherwise when the minute turns. Snapshots, keys and resizes redraw at
//! once, as before.

use chrono::{DateTime, Duration, Utc};

use super::health::poll_age_shown;
use super::state::App;
use crate::domain::wall_minute;
use crate::monitor::Snapshot;

/// Whether anything on screen may show seconds at `app.now`: a popup or a
/// message, a source's poll age (stale, down, degraded, paused), an age under
/// a minute in either pane (scrolled into view or not).
pub fn counts_seconds(app: &App) -> bool {
    if !app.has_snapshot || app.popup.is_some() || app.message.is_some() || app.paused {
        return true;
    }
    // The header's poll ages, and the panes' "remote stale" marks that go
    // with a failing tracker, count seconds.
    if poll_age_shown(app) {
        return true;
    }
    app.ages_in_seconds_until
        .is_some_and(|until| app.now < until)
}

/// The moment after which no age in a snapshot's panes is under a minute:
/// a minute after the latest moment an age counts from. Worked out once per
/// snapshot: a scan of 10 000 rows every second cost more than the frames
/// it saved.
pub fn ages_in_seconds_until(snap: &Snapshot) -> Option<DateTime<Utc>> {
    let latest_row = snap
        .active
        .iter()
        .map(|e| e.phase_start().max(e.last_local_update()))
        .max();
    // A finding's age is as of `findings_at`: it began that long before.
    let latest_finding = snap
        .findings
        .iter()
        .map(|f| f.age_seconds)
        .min()
        .map(|age| snap.findings_at - Duration::seconds(age));
    latest_row
        .max(latest_finding)
        .map(|at| at + Duration::seconds(60))
}

/// The clock's tick: redraw when a second turned and the screen counts
/// seconds, or when the minute turned since the last redraw.
pub fn tick(app: &mut App, now: DateTime<Utc>) {
    let second_turned = now.timestamp() != app.now.timestamp();
    app.now = now;
    let minute_turned = wall_minute(now) != wall_minute(app.drawn_at);
    if second_turned && (minute_turned || counts_seconds(app)) {
        app.dirty = true;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::tui::sample::update;
    use crate::tui::sample::{self, now};
    use crate::tui::update::Msg;

    /// A screen of old rows and old findings, polled and drawn at `now()`.
    fn idle_app() -> App {
        idle_app_at(now())
    }

    /// The same, polled and drawn at `at`.
    fn idle_app_at(at: DateTime<Utc>) -> App {
        let mut app = sample::app(false);
        let mut snap = (*app.snapshot).clone();
        let old = now() - Duration::hours(3);
        snap.active = snap
            .active
            .iter()
            .map(|e| {
                let mut e = (**e).clone();
                e.created_at = old;
                e.started_at = Some(old);
                e.updated_at = Some(old);
                e.heartbeat_at = None;
                Arc::new(e)
            })
            .collect();
        Arc::make_mut(&mut snap.findings).retain(|f| f.age_seconds >= 3_600);
        snap.database.last_success = Some(at);
        if let Some(h) = snap.remote_health.as_mut() {
            h.ok = true;
            h.degraded = false;
            h.last_success = Some(at);
        }
        snap.taken_at = at;
        app.snapshot = Arc::new(snap);
        app.has_snapshot = true;
        app.ages_in_seconds_until = ages_in_seconds_until(&app.snapshot);
        app.now = at;
        app.drawn_at = at;
        app.dirty = false;
        app
    }

    #[test]
    fn an_idle_screen_is_redrawn_when_the_minute_turns_not_every_second() {
        // Polled and drawn at 14:03:52.
        let drawn = now() + Duration::seconds(30);
        let mut app = idle_app_at(drawn);
        assert!(!counts_seconds(&app), "nothing under a minute on screen");
        update(&mut app, Msg::Tick(drawn + Duration::seconds(1)));
        assert!(!app.dirty, "one second later nothing shown has changed");
        update(&mut app, Msg::Tick(drawn + Duration::seconds(7)));
        assert!(!app.dirty, "14:03:59 shows what 14:03:52 showed");
        update(&mut app, Msg::Tick(drawn + Duration::seconds(8)));
        assert!(app.dirty, "at 14:04:00 every minute age moves");
    }

    #[test]
    fn seconds_on_screen_keep_the_clock_at_one_hertz() {
        let mut app = idle_app();
        let mut snap = (*app.snapshot).clone();
        let mut young = (*snap.active[0]).clone();
        young.started_at = Some(now() - Duration::seconds(30));
        let mut rows = snap.active.to_vec();
        rows.push(Arc::new(young));
        snap.active = rows.into();
        app.snapshot = Arc::new(snap);
        app.ages_in_seconds_until = ages_in_seconds_until(&app.snapshot);
        assert!(counts_seconds(&app), "a 30 s old row counts seconds");
        update(&mut app, Msg::Tick(now() + Duration::seconds(1)));
        assert!(app.dirty);
        assert_eq!(
            app.ages_in_seconds_until,
            Some(now() + Duration::seconds(30)),
            "the row is a minute old then: minutes, not seconds"
        );

        let mut app = idle_app();
        app.paused = true;
        assert!(counts_seconds(&app), "a paused header shows its poll age");
        let mut app = idle_app();
        app.message = Some(("copied".into(), now()));
        assert!(counts_seconds(&app));
        let mut app = idle_app();
        update(&mut app, Msg::Tick(now() + Duration::seconds(25)));
        assert!(
            app.db_stale_seconds().is_some() && counts_seconds(&app),
            "a stale database's age counts seconds"
        );
    }
}
