//! The agent's HTTP server (axum): `GET /metrics` and `GET /health`. It only
//! reads what the event task keeps; nothing it serves touches the database
//! or the remote, so a scrape costs no query.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::AgentError;
use super::health::{Readings, assess};
use super::metrics::{self, Metrics};

/// What the handlers read: the metrics and the monitor's last word.
pub struct Shared {
    pub metrics: Arc<Metrics>,
    pub readings: Mutex<Readings>,
    /// When the agent started: "no snapshot yet" grows stale from here.
    pub started: Instant,
    /// The database poll interval.
    pub interval: Duration,
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/metrics", get(serve_metrics))
        .route("/health", get(serve_health))
        .with_state(shared)
}

async fn serve_metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        shared.metrics.encode(),
    )
        .into_response()
}

async fn serve_health(State(shared): State<Arc<Shared>>) -> Response {
    let report = {
        let readings = shared.readings.lock().unwrap();
        assess(&readings, shared.started, Instant::now(), shared.interval)
    };
    let code =
        StatusCode::from_u16(report.status.http_code()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    (
        code,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(report),
    )
        .into_response()
}

pub async fn bind(addr: SocketAddr) -> Result<TcpListener, AgentError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| AgentError::Bind { addr, source })
}

/// Serves until `stop` turns true (or its sender is gone), then stops
/// accepting and returns once the requests in flight are answered.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    mut stop: watch::Receiver<bool>,
) -> Result<(), AgentError> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        })
        .await
        .map_err(AgentError::Serve)
}
