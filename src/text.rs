//! Text from data (rows, remote answers, error messages) made safe for a
//! terminal. A value may carry escape sequences that move the cursor,
//! rewrite the screen or the window title, or bidi overrides that show text
//! in an order other than its bytes: printed as it is, a row could forge
//! what the operator reads. One rule serves the TUI, the command line and
//! the logs. JSON output is left exact: serde escapes control characters.

use std::borrow::Cow;

/// Characters that steer a terminal or reorder text instead of showing:
/// C0 and DEL, C1, and the bidi embeddings, overrides, isolates and marks.
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}' | '\u{200e}' | '\u{200f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The visible stand-in for an unsafe character: C0 and DEL as their
/// Unicode control pictures (`␛`, `␊`), anything else as `�`.
fn stand_in(c: char) -> char {
    match c {
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
        '\u{7f}' => '\u{2421}',
        _ => '\u{fffd}',
    }
}

/// One line of text with every unsafe character made visible and inert,
/// line breaks included: a value cannot start a line of its own.
pub fn one_line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if is_unsafe(c) { stand_in(c) } else { c })
            .collect(),
    )
}

/// Like [`one_line`], but keeps line feeds: for text laid out in lines.
pub fn lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if c != '\n' && is_unsafe(c) {
                    stand_in(c)
                } else {
                    c
                }
            })
            .collect(),
    )
}

/// Drops the unsafe characters instead of showing them: for a terminal cell,
/// whose width must stay what the layout measured. Empty becomes a space.
pub fn cell(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let kept: String = s.chars().filter(|c| !is_unsafe(*c)).collect();
    Cow::Owned(if kept.is_empty() { " ".into() } else { kept })
}

/// Log lines as they are written: line feeds kept, and with `keep_sgr` the
/// formatter's own colour sequences (`ESC [ digits ; … m`); every other
/// unsafe character made visible.
pub fn log_line(s: &str, keep_sgr: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if keep_sgr && c == '\u{1b}' {
            let sgr_len = rest[1..]
                .strip_prefix('[')
                .and_then(|tail| {
                    tail.find(|c: char| !(c.is_ascii_digit() || c == ';'))
                        .map(|n| (tail, n))
                })
                .filter(|(tail, n)| tail[*n..].starts_with('m'))
                .map(|(_, n)| n + 3);
            if let Some(len) = sgr_len {
                out.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
        }
        out.push(if c != '\n' && is_unsafe(c) {
            stand_in(c)
        } else {
            c
        });
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// Secret values known to this process (tokens, client secrets): a net
/// under every log line and error printed, in case a message ever carries
/// one. Nothing exectop writes should; this makes sure it is not shown.
static SECRETS: std::sync::RwLock<Secrets> = std::sync::RwLock::new(Secrets {
    kept: Vec::new(),
    rotating: Vec::new(),
});
/// Short-lived secrets (access tokens) remembered at most: one is added at
/// each refresh. Configured secrets are never dropped.
const MAX_ROTATING: usize = 32;

struct Secrets {
    kept: Vec<String>,
    rotating: Vec<String>,
}
/// Shorter values are not hidden: masking every `ab` would garble logs,
/// and a secret that short protects nothing.
const MIN_SECRET_LEN: usize = 6;

/// Remembers `value` as a secret for the life of the process:
/// [`hide_secrets`] masks it from now on.
pub fn register_secret(value: &str) {
    remember(value, false);
}

/// Remembers a short-lived secret (an access token); the oldest of these
/// are forgotten past a bound, never the configured ones.
pub fn register_rotating_secret(value: &str) {
    remember(value, true);
}

fn remember(value: &str, rotating: bool) {
    if value.len() < MIN_SECRET_LEN {
        return;
    }
    let mut known = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    if known.kept.iter().chain(&known.rotating).any(|s| s == value) {
        return;
    }
    if !rotating {
        known.kept.push(value.to_string());
        return;
    }
    if known.rotating.len() >= MAX_ROTATING {
        known.rotating.remove(0);
    }
    known.rotating.push(value.to_string());
}

/// `s` with every registered secret replaced by `***`.
pub fn hide_secrets(s: &str) -> Cow<'_, str> {
    let known = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    let mut all = known.kept.iter().chain(&known.rotating);
    if !all.any(|secret| s.contains(secret.as_str())) {
        return Cow::Borrowed(s);
    }
    let mut out = s.to_string();
    for secret in known.kept.iter().chain(&known.rotating) {
        out = out.replace(secret.as_str(), "***");
    }
    Cow::Owned(out)
}

/// A writer that passes log lines through [`log_line`] and [`hide_secrets`]. A formatter writes
/// each event in one call, so a character is never split between writes;
/// a write that is not UTF-8 is passed through lossily decoded.
pub struct SafeWriter<W> {
    inner: W,
    keep_sgr: bool,
}

impl<W> SafeWriter<W> {
    pub fn new(inner: W, keep_sgr: bool) -> Self {
        SafeWriter { inner, keep_sgr }
    }
}

impl<W: std::io::Write> std::io::Write for SafeWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let text = hide_secrets(&text);
        self.inner
            .write_all(log_line(&text, self.keep_sgr).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_line_breaks_become_visible_and_inert() {
        assert_eq!(one_line("ok text"), "ok text");
        assert!(matches!(one_line("ok"), Cow::Borrowed(_)));
        assert_eq!(one_line("a\u{1b}[2Jb"), "a\u{241b}[2Jb");
        assert_eq!(one_line("x\ny\rz\t"), "x\u{240a}y\u{240d}z\u{2409}");
        assert_eq!(one_line("del\u{7f}"), "del\u{2421}");
        assert_eq!(one_line("c1\u{9b}31m"), "c1\u{fffd}31m");
        assert_eq!(one_line("abc\u{202e}fed"), "abc\u{fffd}fed");
        assert_eq!(one_line("\u{2066}iso\u{2069}"), "\u{fffd}iso\u{fffd}");
        assert_eq!(one_line("naïve 東京 ✓"), "naïve 東京 ✓");
    }

    #[test]
    fn lines_keep_their_breaks_and_cells_their_width() {
        assert_eq!(lines("a\nb\u{1b}c\n"), "a\nb\u{241b}c\n");
        assert_eq!(cell("\u{202e}"), " ");
        assert_eq!(cell("a\u{200f}"), "a");
        assert_eq!(cell("é"), "é");
    }

    #[test]
    fn registered_secrets_are_hidden_and_short_values_are_not_secrets() {
        register_secret("s3cr3t-token-value");
        register_secret("abc");
        assert_eq!(
            hide_secrets("Bearer s3cr3t-token-value failed; abc"),
            "Bearer *** failed; abc"
        );
        assert!(matches!(hide_secrets("nothing here"), Cow::Borrowed(_)));
        // Many token refreshes later, the configured secret is still hidden.
        for n in 0..(MAX_ROTATING * 3) {
            register_rotating_secret(&format!("access-token-{n:04}"));
        }
        assert_eq!(hide_secrets("s3cr3t-token-value"), "***");
        let last = format!("access-token-{:04}", MAX_ROTATING * 3 - 1);
        assert_eq!(hide_secrets(&last), "***");
    }

    #[test]
    fn log_lines_keep_the_formatters_colours_only_when_asked() {
        let line = "\u{1b}[33mWARN\u{1b}[0m remote said \u{1b}]0;pwned\u{7}\n";
        assert_eq!(
            log_line(line, true),
            "\u{1b}[33mWARN\u{1b}[0m remote said \u{241b}]0;pwned\u{2407}\n"
        );
        assert_eq!(
            log_line(line, false),
            "\u{241b}[33mWARN\u{241b}[0m remote said \u{241b}]0;pwned\u{2407}\n"
        );
        // An unterminated sequence is not a colour.
        assert_eq!(log_line("\u{1b}[12", true), "\u{241b}[12");
    }
}
