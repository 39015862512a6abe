//! The OAuth 2 refresh grant against the AMC stand-in on loopback: one
//! grant serves concurrent requests, a token the remote stops accepting is
//! renewed once, and when even a fresh token is refused there is no
//! refresh storm: that is the credentials lacking access, said once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{Duration as Cd, Utc};
use exectop::config::{
    OAuthConfig, PollConfig, RemoteConfig, RemoteKind, SecretSource, StatusValues,
};
use exectop::domain::{RemoteAnswer, Status};
use exectop::remote::http::HttpTracker;
use exectop::remote::{LookupTarget, RemoteTracker};
use exectop::sim::AmcServer;
use exectop::sim::amc::AmcAuth;
use exectop::sim::fleet::RemoteRun;

fn auth(token_uses: Option<u64>) -> AmcAuth {
    AmcAuth {
        client_id: "oauth-test-client".into(),
        client_secret: "oauth-test-secret-77".into(),
        refresh_token: "Atzr|oauth-test-refresh".into(),
        advertisers: BTreeMap::from([("inst".to_string(), "ENTITYX".to_string())]),
        token_lifetime: Duration::from_secs(3600),
        token_uses,
        throttle: false,
        page_size: 10,
    }
}

async fn serve(token_uses: Option<u64>) -> (AmcServer, Arc<HttpTracker>) {
    let amc = AmcServer::start(auth(token_uses)).await.unwrap();
    let now = Utc::now();
    amc.plant(RemoteRun {
        id: "run-1".into(),
        name: "wf".into(),
        group: "inst".into(),
        created_at: now - Cd::minutes(5),
        started_at: now - Cd::minutes(5),
        finishes_at: now + Cd::hours(1),
        outcome: Status::Succeeded,
        stopped_at: None,
        forgotten: false,
    });
    let given = |v: &str| SecretSource::Command {
        command: vec!["printf".into(), "%s".into(), v.into()],
    };
    let a = auth(token_uses);
    let remote = RemoteConfig {
        kind: RemoteKind::Http,
        base_url: Some(format!("http://{}", amc.addr)),
        status_path: Some("/amc/reporting/inst/workflowExecutions/{remote_id}".into()),
        headers: BTreeMap::from([
            (
                "Amazon-Advertising-API-ClientId".to_string(),
                "{secret.client_id}".to_string(),
            ),
            (
                "Amazon-Advertising-API-AdvertiserId".to_string(),
                "ENTITYX".to_string(),
            ),
        ]),
        secrets: BTreeMap::from([
            ("client_id".to_string(), given(&a.client_id)),
            ("client_secret".to_string(), given(&a.client_secret)),
            ("refresh_token".to_string(), given(&a.refresh_token)),
        ]),
        oauth: Some(OAuthConfig {
            token_url: format!("http://{}/auth/o2/token", amc.addr),
            scope: None,
        }),
        status_values: StatusValues::canonical(),
        ..RemoteConfig::default()
    };
    let poll = PollConfig {
        remote_rate: Some(1000.0),
        ..PollConfig::default()
    };
    (amc, Arc::new(HttpTracker::new(&remote, &poll).unwrap()))
}

fn found(answer: &RemoteAnswer) -> bool {
    matches!(
        answer,
        RemoteAnswer::Found {
            status: Status::Running,
            ..
        }
    )
}

#[tokio::test]
async fn concurrent_requests_share_one_grant() {
    let (amc, t) = serve(None).await;
    let asks = (0..8).map(|_| {
        let t = t.clone();
        tokio::spawn(async move { t.lookup(&LookupTarget::remote_id("run-1")).await })
    });
    for ask in asks {
        let answer = ask.await.unwrap();
        assert!(found(&answer), "{answer:?}");
    }
    assert_eq!(amc.stats().grants, 1, "{:?}", amc.stats());
    assert!(t.health().ok);
}

#[tokio::test]
async fn a_token_the_remote_stops_accepting_is_renewed_once_per_refusal() {
    // Each token serves two requests: the third is refused, renewed, sent again.
    let (amc, t) = serve(Some(2)).await;
    for _ in 0..6 {
        let answer = t.lookup(&LookupTarget::remote_id("run-1")).await;
        assert!(found(&answer), "{answer:?}");
    }
    let stats = amc.stats();
    assert_eq!(stats.grants, 3, "{stats:?}");
    assert_eq!(stats.expired_tokens, 2, "{stats:?}");
    assert!(t.health().auth_failing.is_none());
}

#[tokio::test]
async fn a_fresh_token_refused_is_an_authentication_failure_not_a_refresh_storm() {
    let (amc, t) = serve(Some(0)).await;
    for n in 0..10 {
        match t.lookup(&LookupTarget::remote_id("run-1")).await {
            RemoteAnswer::Unasked { message } if n == 0 => {
                assert_eq!(message, "not asked: authentication failed (HTTP 401)")
            }
            RemoteAnswer::Unasked { message } => {
                assert!(message.contains("credentials lack access"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }
    // The token, its one renewal, then the back-off: nothing more is asked.
    let stats = amc.stats();
    assert_eq!(stats.grants, 2, "{stats:?}");
    assert_eq!(stats.expired_tokens, 2, "{stats:?}");
    let health = t.health();
    assert!(!health.ok);
    assert!(
        health
            .auth_failing
            .as_deref()
            .is_some_and(|why| why.contains("granted just now")),
        "{health:?}"
    );
    assert!(!format!("{t:?}").contains("oauth-test-secret-77"));
}
