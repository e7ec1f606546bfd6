//! Calls to the AWS services that speak the JSON 1.1 protocol (Glue, Athena): a signed `POST /`
//! with `X-Amz-Target: {Service}.{Operation}` and a JSON body, answered with JSON.
//!
//! fastlane makes a handful of these calls per run (read a table, register partitions, replace
//! a view, read one maximum), so it signs them itself with `aws-sigv4` (already in the build for
//! the other AWS clients) instead of compiling the generated Glue and Athena SDKs, which would
//! add minutes to every clean build for a few requests. Credentials, region and retries are the
//! same as the SDK clients': the [`SdkConfig`] of [`super::Connection`] and [`crate::retry`].

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use serde_json::Value;

use crate::retry::{self, Backoff, Verdict};
use crate::{ConnectorError, Result};

/// Credentials this close to expiring are asked for again.
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(300);
/// Time allowed for one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Retries of throttled, 5xx and dropped requests.
const RETRY: Backoff =
    Backoff::new(Duration::from_millis(200), Duration::from_secs(10)).attempts(5);

/// A JSON-protocol AWS service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// The Glue Data Catalog.
    Glue,
    /// Athena.
    Athena,
}

impl Service {
    /// The name requests are signed for (and the endpoint's first label).
    fn signing_name(self) -> &'static str {
        match self {
            Service::Glue => "glue",
            Service::Athena => "athena",
        }
    }

    /// The `X-Amz-Target` prefix.
    fn target(self) -> &'static str {
        match self {
            Service::Glue => "AWSGlue",
            Service::Athena => "AmazonAthena",
        }
    }

    /// The suffix of its `AWS_ENDPOINT_URL_<SERVICE>` variable.
    pub fn env_suffix(self) -> &'static str {
        match self {
            Service::Glue => "GLUE",
            Service::Athena => "ATHENA",
        }
    }

    /// Its name in messages.
    pub fn label(self) -> &'static str {
        match self {
            Service::Glue => "Glue",
            Service::Athena => "Athena",
        }
    }
}

/// An error answer: the service's error type (`EntityNotFoundException`) and its message, or a
/// transport failure (no `code`).
#[derive(Clone, Debug)]
pub struct ApiError {
    /// The error type without its namespace, empty for a transport failure.
    pub code: String,
    /// The service's message, or the transport's.
    pub message: String,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code.is_empty(), self.status) {
            (true, None) => write!(f, "{}", self.message),
            (true, Some(status)) => write!(f, "HTTP {status}: {}", self.message),
            (false, _) => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

impl ApiError {
    /// Whether the service said the named thing does not exist.
    pub fn not_found(&self) -> bool {
        matches!(
            self.code.as_str(),
            "EntityNotFoundException" | "ResourceNotFoundException"
        )
    }

    fn retryable(&self) -> bool {
        match self.status {
            None => true,
            Some(status) => {
                retry::retryable_status(status)
                    || self.code.contains("Throttl")
                    || self.code == "TooManyRequestsException"
            }
        }
    }
}

/// A client of one JSON-protocol service.
#[derive(Clone, Debug)]
pub struct JsonApi {
    service: Service,
    http: reqwest::Client,
    endpoint: String,
    region: String,
    sdk: SdkConfig,
    credentials: std::sync::Arc<tokio::sync::Mutex<Option<Credentials>>>,
}

impl JsonApi {
    /// A client with the region and credentials of `sdk`, sending to `endpoint` or else to
    /// `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL` or the service's regional endpoint.
    pub fn new(service: Service, sdk: &SdkConfig, endpoint: Option<&str>) -> Result<Self> {
        let region = sdk
            .region()
            .map(|r| r.as_ref().to_string())
            .ok_or_else(|| ConnectorError::Other(format!("{}: no AWS region", service.label())))?;
        let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let endpoint = endpoint
            .map(str::to_string)
            .or_else(|| from_env(&format!("AWS_ENDPOINT_URL_{}", service.env_suffix())))
            .or_else(|| from_env("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| {
                // The China regions have their own domain.
                let domain = if region.starts_with("cn-") {
                    "amazonaws.com.cn"
                } else {
                    "amazonaws.com"
                };
                format!("https://{}.{region}.{domain}", service.signing_name())
            });
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| ConnectorError::Other(format!("{}: HTTP client: {e}", service.label())))?;
        Ok(Self {
            service,
            http,
            endpoint: format!("{}/", endpoint.trim_end_matches('/')),
            region,
            sdk: sdk.clone(),
            credentials: Default::default(),
        })
    }

    /// Where requests go.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Call `operation` with `body`; throttling, 5xx answers and dropped connections are retried.
    pub async fn call(
        &self,
        operation: &str,
        body: &Value,
    ) -> std::result::Result<Value, ApiError> {
        let body = serde_json::to_vec(body).map_err(|e| ApiError {
            code: String::new(),
            message: format!("encoding the request: {e}"),
            status: None,
        })?;
        retry::retry(
            &RETRY,
            |_| self.attempt(operation, &body),
            |e: &ApiError| {
                if e.retryable() {
                    Verdict::Retry
                } else {
                    Verdict::GiveUp
                }
            },
            |e, attempt, pause| {
                tracing::warn!(
                    "{} {operation} failed (attempt {attempt}): {e}; trying again in {pause:?}",
                    self.service.label()
                )
            },
        )
        .await
    }

    /// The credentials of the chain, kept until five minutes before they expire (each call and
    /// each Athena poll would otherwise ask the chain again: an STS call with assumed roles).
    async fn credentials(&self) -> std::result::Result<Credentials, String> {
        let mut cached = self.credentials.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|at| at > SystemTime::now() + CREDENTIALS_MARGIN)
        };
        if let Some(c) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        let provider = self
            .sdk
            .credentials_provider()
            .ok_or_else(|| "no AWS credentials provider".to_string())?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| format!("no AWS credentials: {}", super::describe(&e)))?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }

    async fn attempt(&self, operation: &str, body: &[u8]) -> std::result::Result<Value, ApiError> {
        let transport = |message: String| ApiError {
            code: String::new(),
            message,
            status: None,
        };
        let target = format!("{}.{operation}", self.service.target());
        let content_type = "application/x-amz-json-1.1";
        let identity: Identity = self.credentials().await.map_err(transport)?.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service.signing_name())
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| transport(format!("signing: {e}")))?
            .into();
        let headers = [
            ("content-type", content_type),
            ("x-amz-target", target.as_str()),
        ];
        let signable = SignableRequest::new(
            "POST",
            &self.endpoint,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| transport(format!("signing: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| transport(format!("signing: {e}")))?
            .into_parts();
        let mut request = self
            .http
            .post(&self.endpoint)
            .header("content-type", content_type)
            .header("x-amz-target", &target)
            .body(body.to_vec());
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        let answer = request
            .send()
            .await
            .map_err(|e| transport(crate::error::chain(&e)))?;
        let status = answer.status().as_u16();
        let bytes = answer
            .bytes()
            .await
            .map_err(|e| transport(crate::error::chain(&e)))?;
        let value: Value = if bytes.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(&bytes).map_err(|_| ApiError {
                code: String::new(),
                message: format!(
                    "not a JSON answer from {}: {}",
                    self.endpoint,
                    String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                ),
                status: Some(status),
            })?
        };
        if (200..300).contains(&status) {
            return Ok(value);
        }
        // `__type` may carry a namespace (`com.amazonaws.glue#EntityNotFoundException`).
        let code = value
            .get("__type")
            .and_then(Value::as_str)
            .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
            .unwrap_or_default();
        let message = ["message", "Message"]
            .iter()
            .find_map(|k| value.get(*k).and_then(Value::as_str))
            .unwrap_or("no message")
            .to_string();
        Err(ApiError {
            code,
            message,
            status: Some(status),
        })
    }
}
