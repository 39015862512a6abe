//! A history the tracker is refused (a role without
//! `states:GetExecutionHistory`) or that fails is said in the details only:
//! the tracker's health, which the header, the agent and `check` read and
//! the poll's pauses follow, is made by the poll's own calls. Against a
//! loopback Step Functions that answers describes and refuses histories.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use exectop::config::{PollConfig, RemoteConfig, RemoteKind};
use exectop::domain::RemoteAnswer;
use exectop::remote::stepfunctions::StepFunctionsTracker;
use exectop::remote::{LookupTarget, RemoteTracker};

const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:experiment:a";

#[test]
fn histories_refused_or_failing_leave_the_trackers_health_alone() {
    // SAFETY: the only test of this binary sets its credentials before any
    // other thread (the runtime's included) exists.
    unsafe {
        for (name, value) in common::moto::TEST_AWS_ENV {
            std::env::set_var(name, value);
        }
        std::env::remove_var("AWS_PROFILE");
        std::env::remove_var("AWS_SESSION_TOKEN");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        exectop::remote::install_tls_provider();
        let histories = Arc::new(AtomicUsize::new(0));
        let app = {
            let histories = histories.clone();
            axum::Router::new().route(
                "/",
                axum::routing::post(move |headers: axum::http::HeaderMap| {
                    let histories = histories.clone();
                    async move {
                        let target = common::moto::amz_target(&headers);
                        if target.ends_with("GetExecutionHistory") {
                            // Refused, then failing in another way.
                            let (kind, message) = if histories.fetch_add(1, Ordering::SeqCst) < 6 {
                                (
                                    "AccessDeniedException",
                                    "not authorized to perform: states:GetExecutionHistory",
                                )
                            } else {
                                ("InvalidToken", "the history's page is gone")
                            };
                            return (
                                axum::http::StatusCode::BAD_REQUEST,
                                [("x-amzn-errortype", kind)],
                                format!(r#"{{"__type":"{kind}","message":"{message}"}}"#),
                            );
                        }
                        (
                            axum::http::StatusCode::OK,
                            [("x-amzn-errortype", "")],
                            format!(
                                r#"{{"executionArn":"{ARN}","status":"RUNNING","startDate":1.7e9}}"#
                            ),
                        )
                    }
                }),
            )
        };
        let base = common::serve_loopback(app).await;
        let tracker = StepFunctionsTracker::new(
            &RemoteConfig {
                kind: RemoteKind::Stepfunctions,
                region: Some("us-east-1".into()),
                endpoint_url: Some(base),
                ..Default::default()
            },
            &PollConfig::default(),
        )
        .unwrap();
        let target = LookupTarget::remote_id(ARN);
        assert!(matches!(
            tracker.lookup(&target).await,
            RemoteAnswer::Found { .. }
        ));
        assert!(tracker.health().ok, "{:?}", tracker.health());
        // More refusals and failures in a row than degrade a tracker.
        for i in 0..12 {
            let why = tracker
                .recent_events(&target)
                .await
                .unwrap_err()
                .to_string();
            let expected = if i < 6 {
                "AccessDeniedException"
            } else {
                "InvalidToken"
            };
            assert!(why.contains(expected), "{why}");
        }
        assert_eq!(
            histories.load(Ordering::SeqCst),
            12,
            "each was asked (positive control)"
        );
        let health = tracker.health();
        assert!(health.ok, "{health:?}");
        assert_eq!(health.auth_failing, None);
        assert_eq!(health.degraded_until, None);
        assert_eq!(health.last_error, None);
        // And the poll's describes go on.
        assert!(matches!(
            tracker.lookup(&target).await,
            RemoteAnswer::Found { .. }
        ));
    });
}
