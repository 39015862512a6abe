//! Durations as operators write them (`45s`, `2h`, `1h30m`) and as they read them (`22h 6m`).

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Parses `45s`, `5m`, `2h`, `1d`, `1h30m`, `1h 30m`, `250ms`. A bare number is rejected:
/// a unit-less `5` is a guess waiting to go wrong.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration; write it like 45s, 2h or 1h30m".into());
    }
    let mut total_ms: u128 = 0;
    let mut rest = trimmed;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits_end == 0 {
            return Err(format!(
                "bad duration {text:?}: expected a number at {rest:?}; write it like 45s, 2h or 1h30m"
            ));
        }
        let value: u128 = rest[..digits_end]
            .parse()
            .map_err(|_| format!("bad duration {text:?}: number too large"))?;
        rest = rest[digits_end..].trim_start();
        let unit_end = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        let unit_ms: u128 = match unit {
            "ms" => 1,
            "s" | "sec" | "secs" => 1_000,
            "m" | "min" | "mins" => 60_000,
            "h" | "hr" | "hrs" => 3_600_000,
            "d" | "day" | "days" => 86_400_000,
            "" => {
                return Err(format!(
                    "bad duration {text:?}: missing unit after {value}; use ms, s, m, h or d"
                ));
            }
            other => {
                return Err(format!(
                    "bad duration {text:?}: unknown unit {other:?}; use ms, s, m, h or d"
                ));
            }
        };
        total_ms = total_ms
            .checked_add(value.saturating_mul(unit_ms))
            .ok_or_else(|| format!("bad duration {text:?}: too large"))?;
        rest = &rest[unit_end..];
    }
    let ms = u64::try_from(total_ms).map_err(|_| format!("bad duration {text:?}: too large"))?;
    Ok(Duration::from_millis(ms))
}

/// The compact form used in config files and flags: `1h30m`, `45s`, `250ms`.
/// Spelled the way operators write it, so an echo reads like what they
/// typed: hours up to and including 48 (`24h`, `36h`), whole days beyond
/// that (`3d`), and hours again for a longer span that is not whole days
/// (`49h`, `72h30m`).
pub fn format_duration_spec(d: Duration) -> String {
    const DAY: u64 = 86_400;
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let mut secs = d.as_secs();
    if secs > 2 * DAY && secs.is_multiple_of(DAY) {
        return format!("{}d", secs / DAY);
    }
    let mut out = String::new();
    for (unit, size) in [("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// A human age with the two largest units: `22h 6m`, `3m 12s`, `45s`, `2d 4h`.
pub fn format_age(seconds: i64) -> String {
    if seconds < 0 {
        return format!("-{}", format_age(-seconds));
    }
    let s = seconds as u64;
    let (d, h, m, sec) = (s / 86_400, (s % 86_400) / 3_600, (s % 3_600) / 60, s % 60);
    if d > 0 {
        if h > 0 {
            format!("{d}d {h}h")
        } else {
            format!("{d}d")
        }
    } else if h > 0 {
        if m > 0 {
            format!("{h}h {m}m")
        } else {
            format!("{h}h")
        }
    } else if m > 0 {
        if sec > 0 {
            format!("{m}m {sec}s")
        } else {
            format!("{m}m")
        }
    } else {
        format!("{sec}s")
    }
}

/// The wall clock's minute `at` falls in, in minutes since the epoch.
pub fn wall_minute(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

/// Seconds from `since` to `now` as a table shows them (with
/// [`format_age_brief`]): exact under a minute; past it, counted up to the
/// start of `now`'s minute, and a minute at least. Every age shown in
/// minutes then moves at the same moment, when the header's clock turns,
/// rather than one row at a time through the minute: an idle wall terminal
/// rewrote a few ages every few seconds. Such an age is less than a minute
/// behind and never goes back.
pub fn table_age_seconds(now: DateTime<Utc>, since: DateTime<Utc>) -> i64 {
    let exact = (now - since).num_seconds().max(0);
    if exact < 60 {
        return exact;
    }
    (wall_minute(now) * 60 - since.timestamp()).max(60)
}

/// An age for a table column that a 1 Hz clock redraws: seconds only under
/// a minute, then minutes, then [`format_age`]'s two units. A row's age then
/// changes on screen once a minute, not every second (an idle wall terminal
/// would otherwise rewrite the whole column every tick).
pub fn format_age_brief(seconds: i64) -> String {
    if (60..3_600).contains(&seconds) {
        format!("{}m", seconds / 60)
    } else {
        format_age(seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::format_age_brief;

    #[test]
    fn table_ages_past_a_minute_move_together_when_the_minute_turns() {
        use super::table_age_seconds;
        use chrono::{TimeZone, Utc};
        let at = |h, m, s| Utc.with_ymd_and_hms(2026, 11, 27, h, m, s).unwrap();
        let (a, b) = (at(10, 0, 5), at(10, 0, 50));
        // Under a minute: to the second.
        assert_eq!(table_age_seconds(at(10, 0, 59), a), 54);
        // Past it: up to 10:01:00 until the clock reads 10:02, a minute at least.
        assert_eq!(table_age_seconds(at(10, 1, 5), a), 60);
        assert_eq!(table_age_seconds(at(10, 1, 59), a), 60);
        assert_eq!(table_age_seconds(at(10, 1, 55), b), 60);
        for (now, want_a, want_b) in [
            (at(10, 2, 0), "1m", "1m"),
            (at(10, 2, 59), "1m", "1m"),
            (at(10, 3, 0), "2m", "2m"),
        ] {
            assert_eq!(format_age_brief(table_age_seconds(now, a)), want_a);
            assert_eq!(format_age_brief(table_age_seconds(now, b)), want_b);
        }
        // Never backwards, second by second.
        let mut last = 0;
        for s in 0..600 {
            let age = table_age_seconds(a + chrono::Duration::seconds(s), a);
            assert!(age >= last, "{s}: {age} after {last}");
            last = age;
        }
    }

    #[test]
    fn brief_ages_tick_once_a_minute_past_the_first() {
        let cases = [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (119, "1m"),
            (3_599, "59m"),
            (3_600, "1h"),
            (3_661, "1h 1m"),
            (90_000, "1d 1h"),
        ];
        for (seconds, want) in cases {
            assert_eq!(format_age_brief(seconds), want, "{seconds}");
        }
    }

    use super::*;

    #[test]
    fn parses_operator_durations() {
        let cases = [
            ("45s", 45_000),
            ("2h", 7_200_000),
            ("1h30m", 5_400_000),
            ("1h 30m", 5_400_000),
            ("250ms", 250),
            ("1d", 86_400_000),
            ("5m", 300_000),
            (" 10s ", 10_000),
        ];
        for (text, ms) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_bad_durations_with_the_reason() {
        for (text, needle) in [
            ("", "empty"),
            ("5", "missing unit"),
            ("5 minutes", "unknown unit"),
            ("abc", "expected a number"),
            ("1h30", "missing unit"),
            ("-5s", "expected a number"),
        ] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn formats_spec_and_age() {
        assert_eq!(format_duration_spec(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration_spec(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration_spec(Duration::from_secs(45)), "45s");
        assert_eq!(format_duration_spec(Duration::ZERO), "0s");
        assert_eq!(format_age(79_560), "22h 6m");
        assert_eq!(format_age(192), "3m 12s");
        assert_eq!(format_age(45), "45s");
        assert_eq!(format_age(187_200), "2d 4h");
        assert_eq!(format_age(7_200), "2h");
    }

    #[test]
    fn spec_spells_hours_up_to_48h_then_whole_days() {
        let h = |n: u64| Duration::from_secs(n * 3_600);
        let cases = [
            (h(1), "1h"),
            (h(24), "24h"),
            (h(36), "36h"),
            (h(48), "48h"),
            (h(49), "49h"),
            (h(72), "3d"),
            (h(84), "84h"),
            (h(24 * 7), "7d"),
            (h(72) + Duration::from_secs(30 * 60), "72h30m"),
            (h(24) + Duration::from_secs(61), "24h1m1s"),
            (Duration::from_secs(90), "1m30s"),
        ];
        for (d, want) in cases {
            assert_eq!(format_duration_spec(d), want, "{d:?}");
        }
    }

    #[test]
    fn spec_round_trips_through_the_parser() {
        let h = |n: u64| Duration::from_secs(n * 3_600);
        let mut samples = vec![
            Duration::ZERO,
            Duration::from_millis(1),
            Duration::from_millis(1_500),
            Duration::from_secs(59),
            h(48) + Duration::from_secs(1),
            h(72) + Duration::from_millis(250),
        ];
        samples.extend((0..200).map(|i| Duration::from_secs(i * 1_847 + i * i * 97)));
        samples.extend((1..60).map(h));
        samples.extend((1..30).map(|d| h(24 * d)));
        for d in samples {
            let spec = format_duration_spec(d);
            assert_eq!(parse_duration(&spec), Ok(d), "{d:?} → {spec}");
        }
        for text in ["24h", "36h", "1h30m", "3d", "45s", "250ms", "48h"] {
            let d = parse_duration(text).unwrap();
            assert_eq!(
                format_duration_spec(d),
                text,
                "an operator's spelling is kept"
            );
        }
    }
}
