//! Reading timestamps whatever their column type: every mapped column is read
//! as text, so one parser serves PostgreSQL (`timestamptz`, `timestamp`) and
//! SQLite (ISO-8601 text or epoch seconds).

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Parses the text forms databases give for a moment; a zone-less value is UTC.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    // Every poll reads five moments per active row; chrono's format-driven
    // parsers re-read their format string for each one and were a quarter
    // of an idle monitor's CPU (docs/PERFORMANCE.md §7).
    if let Some(t) = parse_iso_fast(s.as_bytes()) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // PostgreSQL's text form: `2025-08-07 18:18:08.5757+00`.
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?));
    }
    if let Ok(secs) = s.parse::<f64>() {
        let whole = secs.trunc() as i64;
        let nanos = ((secs.fract()) * 1e9) as u32;
        return Utc.timestamp_opt(whole, nanos).single();
    }
    None
}

/// The ISO-8601 forms PostgreSQL and exectop write, decoded by hand:
/// `YYYY-MM-DD[ T]HH:MM:SS[.fraction][Z | ±HH[[:]MM]]`, zone-less meaning UTC.
/// Anything else (`None`) goes to the general parsers.
fn parse_iso_fast(b: &[u8]) -> Option<DateTime<Utc>> {
    fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
        let part = b.get(at..at + n)?;
        part.iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    }
    let sep = |at: usize, allowed: &[u8]| b.get(at).is_some_and(|c| allowed.contains(c));
    if b.len() < 19
        || !sep(4, b"-")
        || !sep(7, b"-")
        || !sep(10, b" T")
        || !sep(13, b":")
        || !sep(16, b":")
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(digits(b, 0, 4)?).ok()?,
        digits(b, 5, 2)?,
        digits(b, 8, 2)?,
    )?;
    let (hour, minute, second) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    let mut at = 19;
    let mut nanos = 0u32;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while at < b.len() && b[at].is_ascii_digit() {
            if at - start < 9 {
                nanos = nanos * 10 + u32::from(b[at] - b'0');
            }
            at += 1;
        }
        let read = at - start;
        if read == 0 {
            return None;
        }
        nanos *= 10u32.pow(9 - read.min(9) as u32);
    }
    let offset_seconds: i64 = match &b[at..] {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), zone @ ..] => {
            let (h, m) = match zone.len() {
                2 => (digits(zone, 0, 2)?, 0),
                4 => (digits(zone, 0, 2)?, digits(zone, 2, 2)?),
                5 if zone[2] == b':' => (digits(zone, 0, 2)?, digits(zone, 3, 2)?),
                _ => return None,
            };
            let magnitude = i64::from(h * 3600 + m * 60);
            if *sign == b'-' { -magnitude } else { magnitude }
        }
        _ => return None,
    };
    let local = date.and_hms_nano_opt(hour, minute, second, nanos)?;
    Some(Utc.from_utc_datetime(&(local - chrono::Duration::seconds(offset_seconds))))
}

/// The text form exectop writes to SQLite: sortable, UTC, millisecond precision.
pub fn sqlite_text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_form() {
        let want = Utc.with_ymd_and_hms(2025, 8, 7, 18, 18, 8).unwrap();
        for text in [
            "2025-08-07T18:18:08Z",
            "2025-08-07T18:18:08.000Z",
            "2025-08-07 18:18:08+00",
            "2025-08-07 18:18:08+00:00",
            "2025-08-07 20:18:08+02",
            "2025-08-07 18:18:08",
            "2025-08-07T18:18:08",
            "1754590688",
        ] {
            assert_eq!(parse_timestamp(text), Some(want), "{text}");
        }
        let frac = parse_timestamp("2025-08-07 18:18:08.5757+00").unwrap();
        assert_eq!(frac.timestamp_subsec_micros(), 575_700);
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp(""), None);
        assert_eq!(sqlite_text(want), "2025-08-07T18:18:08.000Z");
    }

    /// The hand-written reader must agree with chrono's on everything it
    /// accepts, and leave to chrono what it does not.
    #[test]
    fn the_fast_reader_agrees_with_chrono() {
        let slow = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .ok()
                .or_else(|| {
                    DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z")
                        .ok()
                        .map(|t| t.with_timezone(&Utc))
                })
                .or_else(|| {
                    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
                        .ok()
                        .map(|t| Utc.from_utc_datetime(&t))
                })
        };
        let mut checked = 0;
        for date in ["2025-08-07", "2024-02-29", "1999-12-31", "2026-01-01"] {
            for time in ["00:00:00", "18:18:08", "23:59:59"] {
                for frac in ["", ".5", ".5757", ".123456", ".123456789"] {
                    for zone in ["", "Z", "+00", "+00:00", "+02", "-05:30", "+0530", "-11"] {
                        for sep in [" ", "T"] {
                            let text = format!("{date}{sep}{time}{frac}{zone}");
                            let fast = parse_iso_fast(text.as_bytes());
                            assert!(fast.is_some(), "{text} took the slow path");
                            if let Some(want) = slow(&text.replace('T', " ")) {
                                assert_eq!(fast, Some(want), "{text}");
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 400, "only {checked} forms compared");
        for odd in [
            "2025-02-30 10:00:00",
            "2025-08-07 24:00:00",
            "2025-08-07 18:18:08.",
            "2025-08-07 18:18:08+2",
            "2025-08-07 18:18:08 UTC",
            "2025-08-07",
            "1754590688",
            "07/08/2025 18:18:08",
        ] {
            assert_eq!(parse_iso_fast(odd.as_bytes()), None, "{odd}");
        }
        assert_eq!(
            parse_timestamp("2025-02-30 10:00:00"),
            None,
            "an impossible date is no moment"
        );
    }
}
