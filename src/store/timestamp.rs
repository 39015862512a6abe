//! Reading timestamps whatever their column type: every mapped column is read
//! as text, so one parser serves PostgreSQL (`timestamptz`, `timestamp`) and
//! SQLite (ISO-8601 text or epoch seconds).

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// Parses the text forms databases give for a moment; a zone-less value is UTC.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let s = text.trim();
    if s.is_empty() {
        return None;
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
}
