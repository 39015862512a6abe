//! Step Functions' credentials and signing: the AWS configuration loaded
//! once (region, the credentials chain the CLI uses), credentials cached
//! until shortly before they expire, and each call signed with SigV4.

use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

use super::StepFunctionsTracker;
use crate::remote::RemoteError;
use crate::remote::secrets::Secret;
use crate::remote::sfn_protocol::{CONTENT_TYPE, Call, SIGNING_NAME};

/// Credentials are renewed this long before they expire.
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(300);
/// Credentials without an expiry (static keys) are read again this often.
const CREDENTIALS_REREAD: Duration = Duration::from_secs(900);

pub(super) struct Aws {
    pub region: String,
    pub url: String,
    pub provider: SharedCredentialsProvider,
}

impl StepFunctionsTracker {
    pub(super) fn profile_said(&self) -> String {
        match &self.profile {
            Some(p) => format!(" (profile {p})"),
            None => String::new(),
        }
    }

    /// The AWS configuration, loaded once: region and credentials chain.
    pub(super) async fn aws(&self) -> Result<&Aws, RemoteError> {
        self.aws
            .get_or_try_init(|| async {
                let http = aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https();
                let mut loader =
                    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
                if let Some(p) = &self.profile {
                    loader = loader.profile_name(p);
                }
                if let Some(r) = &self.region {
                    loader = loader.region(aws_config::Region::new(r.clone()));
                }
                let sdk = loader.load().await;
                let region = sdk.region().map(|r| r.to_string()).ok_or_else(|| {
                    RemoteError::Config(format!(
                        "no AWS region{}: set remote.region, AWS_REGION or the profile's region",
                        self.profile_said()
                    ))
                })?;
                let provider = sdk.credentials_provider().ok_or_else(|| {
                    RemoteError::Auth(format!(
                        "no AWS credentials provider{}",
                        self.profile_said()
                    ))
                })?;
                let url = match &self.endpoint {
                    Some(url) => format!("{url}/"),
                    None => format!("https://states.{region}.amazonaws.com/"),
                };
                Ok(Aws {
                    region,
                    url,
                    provider,
                })
            })
            .await
    }

    /// Credentials from the chain, cached until shortly before they expire.
    pub(super) async fn credentials(&self, aws: &Aws) -> Result<Credentials, RemoteError> {
        let mut cached = self.credentials.lock().await;
        if let Some((c, renew_at)) = cached.as_ref()
            && Instant::now() < *renew_at
        {
            return Ok(c.clone());
        }
        match aws.provider.provide_credentials().await {
            Ok(c) => {
                Secret::rotating(c.secret_access_key());
                if let Some(token) = c.session_token() {
                    Secret::rotating(token);
                }
                let keep = c
                    .expiry()
                    .and_then(|at| at.duration_since(SystemTime::now()).ok())
                    .map_or(CREDENTIALS_REREAD, |left| {
                        left.saturating_sub(CREDENTIALS_MARGIN)
                    });
                *cached = Some((c.clone(), Instant::now() + keep));
                if self.auth_error.lock().unwrap().take().is_some() {
                    tracing::warn!("AWS credentials work again");
                }
                Ok(c)
            }
            Err(e) => {
                *cached = None;
                let why = format!("AWS credentials{}: {}", self.profile_said(), causes(&e));
                let mut held = self.auth_error.lock().unwrap();
                if held.as_deref() != Some(why.as_str()) {
                    tracing::warn!("{why}");
                }
                *held = Some(why.clone());
                Err(RemoteError::Auth(why))
            }
        }
    }
}

/// An error and its sources, one line: the chain says which provider failed.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    crate::text::one_line(&out).into_owned()
}

/// The call as a signed request (SigV4, service `states`).
pub(super) fn sign(
    aws: &Aws,
    credentials: &Credentials,
    call: Call,
    body: Vec<u8>,
) -> Result<reqwest::Request, RemoteError> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let headers = [
        ("content-type", CONTENT_TYPE),
        ("x-amz-target", call.target()),
    ];
    let identity = credentials.clone().into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(&aws.region)
        .name(SIGNING_NAME)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| RemoteError::Unsendable(format!("cannot sign the request: {e}")))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        &aws.url,
        headers.iter().copied(),
        SignableBody::Bytes(&body),
    )
    .map_err(|e| RemoteError::Unsendable(format!("cannot sign the request: {e}")))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| RemoteError::Unsendable(format!("cannot sign the request: {e}")))?
        .into_parts();
    let mut request = http::Request::builder().method("POST").uri(&aws.url);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let mut request = request
        .body(body)
        .map_err(|e| RemoteError::Unsendable(format!("cannot build the request: {e}")))?;
    instructions.apply_to_request_http1x(&mut request);
    reqwest::Request::try_from(request)
        .map_err(|e| RemoteError::Unsendable(format!("cannot build the request: {e}")))
}
