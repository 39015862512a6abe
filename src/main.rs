//! The exectop binary: parse the command line, dispatch, map the outcome to
//! an exit code (0 ok, 1 findings, 2 could not run).

use std::process::ExitCode;

use clap::Parser;
use exectop::cli::{Cli, Command};
use exectop::commands::{self, CommandFailure};

async fn dispatch(cli: Cli) -> Result<i32, CommandFailure> {
    let mut global = cli.global;
    // The wall screen acts on nothing: it is read-only however it starts.
    global.read_only |= global.wall;
    match cli.command.unwrap_or(Command::Tui) {
        Command::Tui => {
            let setup = commands::setup::setup(&global).await?;
            commands::live::run(setup, &global).await
        }
        Command::Check { explain: true, .. } => commands::check::explain(&global).await,
        Command::Check { json, unacked, .. } => commands::check::run(&global, json, unacked).await,
        Command::Migrate => commands::migrate::run(&global).await,
        Command::Thresholds { json } => commands::thresholds::run(&global, json).await,
        Command::Agent { listen } => commands::agent::run(&global, listen).await,
        Command::Reconcile { ids, fix, json, .. } => {
            commands::act::reconcile(&global, ids, fix, json).await
        }
        Command::MarkFailed {
            ids,
            reason,
            stop_remote,
            dry_run,
            json,
        } => commands::act::mark_failed(&global, ids, reason, stop_remote, dry_run, json).await,
        Command::Cleanup {
            max_age, fix, json, ..
        } => commands::act::cleanup(&global, &max_age, fix, json).await,
        Command::Demo {
            seed,
            revoke_token_after,
            tracker,
        } => commands::demo::run(&global, seed, revoke_token_after.as_deref(), tracker).await,
        Command::Simulate {
            db,
            listen,
            seed,
            rate,
            tuning,
        } => commands::demo::simulate(&db, listen, seed, rate, &tuning).await,
    }
}

/// Logging for the line-oriented commands: `level` and above to stderr
/// (warnings; the agent, a service whose stderr is its log, says what it
/// does at info). The TUI replaces this with its own log pane and file
/// (`level` None). Colour only for a person at a terminal: escape codes in
/// a cron mail or a log file are noise, and NO_COLOR (no-color.org: set and
/// not empty) turns them off everywhere.
fn init_cli_logging(level: Option<tracing::Level>) {
    use std::io::IsTerminal;
    let Some(level) = level else {
        return;
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let ansi = std::io::stderr().is_terminal() && !no_color;
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(level)
        .with_target("sqlx", tracing::Level::ERROR);
    use tracing_subscriber::prelude::*;
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || exectop::text::SafeWriter::new(std::io::stderr(), ansi))
                .with_ansi(ansi)
                .with_target(false),
        )
        .with(filter)
        .try_init();
}

/// glibc gives each thread that allocates its own arena, up to eight per
/// core, and keeps what is freed in each. The poll decodes rows on the
/// database driver's threads and frees them on the runtime's: with 100 000
/// active rows that retention was a third of the monitor's RSS. Two arenas
/// keep it small at no measurable cost. A fixed mmap threshold keeps a
/// remote list answer (16 MB at 100 000 runs) in its own mapping, returned
/// when it is freed: glibc otherwise raises the threshold after the first
/// such free and serves the next answers from the heap, which keeps them.
/// 4 MB, not lower: a poll's own vectors at 10 000 rows (2-3 MB) would then
/// be mapped and faulted in afresh every poll (docs/PERFORMANCE.md).
fn cap_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called once,
    // before any thread is started.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
    }
}

/// A panic, from any thread or task, is a bug: it ends the process with one
/// line on stderr and exit code 2, as any other failure to run does, not a
/// backtrace. The TUI's own hook, chained before this one, restores the
/// terminal first. `RUST_BACKTRACE=1` still prints the backtrace, for a report.
fn install_panic_hook() {
    if let Ok((_, eyre_hook)) = color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .try_into_hooks()
    {
        let _ = eyre_hook.install();
    }
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "exectop: internal error: {}{place} (a bug; please report it)",
            exectop::text::one_line(&what)
        );
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
        std::process::exit(2);
    }));
}

fn main() -> ExitCode {
    cap_malloc_arenas();
    exectop::remote::install_tls_provider();
    let cli = Cli::parse();
    install_panic_hook();
    // The one way to prove the hook above from outside: tests set it.
    if std::env::var_os("EXECTOP_TEST_PANIC").is_some() {
        panic!("EXECTOP_TEST_PANIC is set \u{1b}[2J");
    }
    if let Some(Command::Demo {
        tracker: exectop::cli::DemoTracker::Stepfunctions,
        ..
    }) = &cli.command
    {
        // The demo's Step Functions tracker signs its requests to the
        // simulator with stand-in keys, found first in the AWS chain.
        // SAFETY: no other thread runs yet (the runtime starts below).
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", "AKIAEXECTOPDEMO");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "exectop-demo-not-a-secret");
            std::env::remove_var("AWS_SESSION_TOKEN");
        }
    }
    let tui = matches!(
        cli.command,
        None | Some(Command::Tui) | Some(Command::Demo { .. })
    );
    init_cli_logging(match &cli.command {
        _ if tui => None,
        Some(Command::Agent { .. }) => Some(tracing::Level::INFO),
        _ => Some(tracing::Level::WARN),
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("exectop: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(dispatch(cli));
    // Don't wait for stray blocking tasks (a hung terminal read) on the way out.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match code {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            let message = e.to_string();
            let message = exectop::text::hide_secrets(&message);
            eprintln!("exectop: {}", exectop::text::one_line(&message));
            ExitCode::from(2)
        }
    }
}
