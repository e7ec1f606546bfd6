//! Google credentials: where the access token sent with every REST and gRPC call comes from.
//!
//! In order: the section's `service_account_key_file` or `service_account_json`; with an
//! `endpoint` override and neither, nothing (emulators take no credentials); else
//! `GOOGLE_APPLICATION_CREDENTIALS`, the gcloud application-default credentials file, and the
//! GCE/GKE metadata server. Tokens come from `yup-oauth2` (as re-exported by
//! gcp-bigquery-client), which caches and refreshes them.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use gcp_bigquery_client::yup_oauth2;

use super::config::{Config, SECTION};
use crate::{ConnectorError, Result};

/// OAuth scope of every call (queries need more than `bigquery.readonly`).
const SCOPES: &[&str] = &["https://www.googleapis.com/auth/bigquery"];

type TokenFuture = Pin<Box<dyn Future<Output = std::result::Result<String, String>> + Send>>;
type TokenFn = dyn Fn() -> TokenFuture + Send + Sync;

/// How long fetching one access token may take.
const TOKEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Where access tokens come from, or none.
#[derive(Clone)]
pub(super) struct Credentials {
    fetch: Option<Arc<TokenFn>>,
    /// Which credentials these are, for errors and logs (never their content).
    pub origin: String,
}

/// An access-token source from a `yup_oauth2` authenticator (whose connector type cannot be
/// named without hyper-util, hence a macro rather than a generic function).
macro_rules! token_source {
    ($authenticator:expr, $origin:expr) => {{
        let authenticator = $authenticator;
        let fetch: Arc<TokenFn> = Arc::new(move || {
            let authenticator = authenticator.clone();
            Box::pin(async move {
                let token = authenticator
                    .token(SCOPES)
                    .await
                    .map_err(|e| e.to_string())?;
                token
                    .token()
                    .map(str::to_owned)
                    .ok_or_else(|| "the token service returned no access token".to_string())
            }) as TokenFuture
        });
        Credentials {
            fetch: Some(fetch),
            origin: $origin,
        }
    }};
}

impl Credentials {
    /// No credentials: requests go out without an `Authorization` header.
    pub fn none() -> Self {
        Self {
            fetch: None,
            origin: "no credentials".into(),
        }
    }

    /// The credentials the section asks for (see the module docs for the order).
    pub async fn load(config: &Config) -> Result<Self> {
        if let Some(json) = &config.service_account_json {
            let key = yup_oauth2::parse_service_account_key(json).map_err(|e| {
                ConnectorError::config(
                    format!("{SECTION}.service_account_json"),
                    format!("is not a service-account key (JSON): {e}"),
                )
            })?;
            return service_account(key, "the service_account_json key".into()).await;
        }
        if let Some(path) = &config.service_account_key_file {
            let key = yup_oauth2::read_service_account_key(path)
                .await
                .map_err(|e| {
                    ConnectorError::config(
                        format!("{SECTION}.service_account_key_file"),
                        format!("cannot read the service-account key {path}: {e}"),
                    )
                })?;
            return service_account(key, format!("the service-account key {path}")).await;
        }
        if config.endpoint.is_some() {
            return Ok(Self::none());
        }
        if let Ok(path) = std::env::var("GOOGLE_APPLICATION_CREDENTIALS") {
            return from_file(Path::new(&path), "GOOGLE_APPLICATION_CREDENTIALS").await;
        }
        if let Some(path) = gcloud_adc_file().filter(|p| p.is_file()) {
            return from_file(&path, "the gcloud application-default credentials").await;
        }
        let builder = yup_oauth2::ApplicationDefaultCredentialsAuthenticator::builder(
            yup_oauth2::ApplicationDefaultCredentialsFlowOpts::default(),
        )
        .await;
        let authenticator = match builder {
            yup_oauth2::authenticator::ApplicationDefaultCredentialsTypes::ServiceAccount(b) => {
                b.build().await
            }
            yup_oauth2::authenticator::ApplicationDefaultCredentialsTypes::InstanceMetadata(b) => {
                b.build().await
            }
        }
        .map_err(|e| {
            ConnectorError::Other(format!(
                "{SECTION}: no credentials: give service_account_key_file or \
                 service_account_json, set GOOGLE_APPLICATION_CREDENTIALS, or run on Google \
                 Cloud (metadata server: {e})"
            ))
        })?;
        Ok(token_source!(
            authenticator,
            "the metadata server's service account".to_string()
        ))
    }

    /// The `Authorization` header value (`Bearer …`), or `None` without credentials.
    pub async fn bearer(&self) -> Result<Option<String>> {
        let Some(fetch) = &self.fetch else {
            return Ok(None);
        };
        // A stalled token endpoint must not hang the run: the token service answers in
        // well under a second when it works.
        let token = tokio::time::timeout(TOKEN_TIMEOUT, fetch())
            .await
            .map_err(|_| {
                ConnectorError::Other(format!(
                    "{SECTION}: no access token from {} within {} s",
                    self.origin,
                    TOKEN_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| {
                ConnectorError::Other(format!(
                    "{SECTION}: cannot get an access token from {}: {e}",
                    self.origin
                ))
            })?;
        Ok(Some(format!("Bearer {token}")))
    }
}

async fn service_account(
    key: yup_oauth2::ServiceAccountKey,
    origin: String,
) -> Result<Credentials> {
    let authenticator = yup_oauth2::ServiceAccountAuthenticator::builder(key)
        .build()
        .await
        .map_err(|e| ConnectorError::Other(format!("{SECTION}: {origin} is unusable: {e}")))?;
    Ok(token_source!(authenticator, origin))
}

/// A credentials file as gcloud and the client libraries write them: a service-account key or
/// an authorized user (`gcloud auth application-default login`).
async fn from_file(path: &Path, named_by: &str) -> Result<Credentials> {
    let origin = format!("{} ({named_by})", path.display());
    let text = tokio::fs::read_to_string(path).await.map_err(|e| {
        ConnectorError::Other(format!(
            "{SECTION}: cannot read the credentials {origin}: {e}"
        ))
    })?;
    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    let kind = serde_json::from_str::<Kind>(&text)
        .ok()
        .and_then(|k| k.kind)
        .unwrap_or_default();
    match kind.as_str() {
        "service_account" => {
            let key = yup_oauth2::parse_service_account_key(&text).map_err(|e| {
                ConnectorError::Other(format!(
                    "{SECTION}: {origin} is not a service-account key: {e}"
                ))
            })?;
            service_account(key, origin).await
        }
        "authorized_user" => {
            let secret = yup_oauth2::read_authorized_user_secret(path)
                .await
                .map_err(|e| {
                    ConnectorError::Other(format!(
                        "{SECTION}: cannot read the credentials {origin}: {e}"
                    ))
                })?;
            let authenticator = yup_oauth2::AuthorizedUserAuthenticator::builder(secret)
                .build()
                .await
                .map_err(|e| {
                    ConnectorError::Other(format!("{SECTION}: {origin} is unusable: {e}"))
                })?;
            Ok(token_source!(authenticator, origin))
        }
        other => Err(ConnectorError::Other(format!(
            "{SECTION}: the credentials {origin} are of type {other:?}; a service-account key or \
             an authorized user (gcloud auth application-default login) is needed"
        ))),
    }
}

/// `$CLOUDSDK_CONFIG/application_default_credentials.json`, by default under
/// `~/.config/gcloud`.
fn gcloud_adc_file() -> Option<PathBuf> {
    let dir = match std::env::var_os("CLOUDSDK_CONFIG") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".config/gcloud"),
    };
    Some(dir.join("application_default_credentials.json"))
}
