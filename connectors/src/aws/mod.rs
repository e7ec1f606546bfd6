//! What every AWS client of fastlane shares: one SDK config built from a connector's `region`,
//! `endpoint_url` and `profile` keys (or the standard environment), credentials from the
//! standard chain (environment, profile, web identity, container and instance roles), bounded
//! timeouts and the SDK's standard retries.
//!
//! The endpoint override serves any AWS-compatible service (a local S3 store, a test server):
//! the `endpoint_url` key wins, then `AWS_ENDPOINT_URL_<SERVICE>` and `AWS_ENDPOINT_URL`, which
//! the SDK reads itself.

use std::error::Error;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::Provider;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::{ConnectorError, Result};

#[cfg(feature = "glue")]
pub mod athena;
#[cfg(feature = "glue")]
pub mod catalog;
#[cfg(feature = "glue")]
pub mod glue;
#[cfg(feature = "glue")]
pub mod json_api;
#[cfg(any(test, feature = "test-support"))]
pub mod test_server;

/// Attempts per request (the first one included) for transient errors: throttling, 5xx,
/// timeouts and dropped connections.
pub const MAX_ATTEMPTS: u32 = 5;
/// Time allowed to open a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for one attempt of one request (an 8 MiB part on a slow link fits).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(120);
/// Region used with an endpoint override when none is configured: S3-compatible stores and test
/// servers accept any, and the signature only needs one.
const FALLBACK_REGION: &str = "us-east-1";

pub use crate::secrets::REGION_PATTERN;

/// Whether `region` is a usable region name (see [`REGION_PATTERN`]).
pub fn valid_region(region: &str) -> bool {
    let mut chars = region.chars();
    region.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// How to reach AWS (or an AWS-compatible service), from a connector's config.
#[derive(Clone, Debug, Default)]
pub struct Connection<'a> {
    /// The connector's config section (`target.s3`), naming the keys in errors.
    pub section: &'a str,
    /// The service's suffix in `AWS_ENDPOINT_URL_<SERVICE>` (`S3`, `FIREHOSE`,
    /// `CLOUDWATCH_LOGS`, `SECRETS_MANAGER`).
    pub service: &'a str,
    /// `region`: else `AWS_REGION`, `AWS_DEFAULT_REGION` or the profile's.
    pub region: Option<&'a str>,
    /// `endpoint_url`: an override of the service's endpoint.
    pub endpoint_url: Option<&'a str>,
    /// `profile`: a named profile of the shared config/credentials files.
    pub profile: Option<&'a str>,
    /// `access_key_id` and `secret_access_key` (and `session_token`): keys given in the config,
    /// used instead of the standard chain (S3-compatible stores often have their own).
    pub keys: Option<StaticKeys<'a>>,
}

/// Access keys written in a connector's config (usually as `${ENV}` references).
#[derive(Clone, Debug)]
pub struct StaticKeys<'a> {
    /// The access key id.
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret_access_key: &'a str,
    /// A session token, for temporary credentials.
    pub session_token: Option<&'a str>,
}

impl<'a> StaticKeys<'a> {
    /// The keys when both halves are configured; one without the other is a config error.
    pub fn from_config(
        section: &str,
        access_key_id: Option<&'a str>,
        secret_access_key: Option<&'a str>,
        session_token: Option<&'a str>,
    ) -> Result<Option<Self>> {
        match (access_key_id, secret_access_key) {
            (Some(access_key_id), Some(secret_access_key)) => Ok(Some(Self {
                access_key_id,
                secret_access_key,
                session_token,
            })),
            (None, None) if session_token.is_none() => Ok(None),
            (None, _) => Err(ConnectorError::config(
                format!("{section}.access_key_id"),
                "required with `secret_access_key` or `session_token`",
            )),
            (Some(_), None) => Err(ConnectorError::config(
                format!("{section}.secret_access_key"),
                "required with `access_key_id`",
            )),
        }
    }
}

impl Connection<'_> {
    /// Check what can be checked without the network: the endpoint override and the region.
    pub fn check(&self) -> Result<()> {
        if let Some(url) = self.endpoint_url.filter(|u| !u.is_empty()) {
            check_endpoint(self.section, url)?;
        }
        if let Some(region) = self.region.filter(|r| !r.is_empty()) {
            if !valid_region(region) {
                return Err(ConnectorError::config(
                    format!("{}.region", self.section),
                    format!("{region:?} is not a region name: letters, digits, `-` and `_` only"),
                ));
            }
        }
        Ok(())
    }

    /// The SDK config: region, endpoint, credentials chain, timeouts and retries.
    ///
    /// Errors when no region can be found (every AWS request is signed for a region).
    pub async fn sdk_config(&self) -> Result<SdkConfig> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(
                aws_smithy_http_client::Builder::new()
                    .tls_provider(Provider::Rustls(CryptoMode::Ring))
                    .build_https(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .build(),
            );
        self.check()?;
        if let Some(region) = self.region.filter(|r| !r.is_empty()) {
            loader = loader.region(Region::new(region.to_string()));
        }
        if let Some(url) = self.endpoint_url.filter(|u| !u.is_empty()) {
            loader = loader.endpoint_url(url);
        }
        if let Some(profile) = self.profile.filter(|p| !p.is_empty()) {
            loader = loader.profile_name(profile);
        }
        if let Some(keys) = &self.keys {
            loader = loader.credentials_provider(Credentials::new(
                keys.access_key_id,
                keys.secret_access_key,
                keys.session_token.map(str::to_string),
                None,
                "fastlane-config",
            ));
        }
        let config = loader.load().await;
        if let Some(region) = config.region() {
            // The environment or a profile may hold anything; the SDK would panic on some.
            if !valid_region(region.as_ref()) {
                return Err(ConnectorError::config(
                    format!("{}.region", self.section),
                    format!(
                        "{:?} (from the config, AWS_REGION, AWS_DEFAULT_REGION or the profile) is not a region name: letters, digits, `-` and `_` only",
                        region.as_ref()
                    ),
                ));
            }
            return Ok(config);
        }
        if self.overrides_endpoint() {
            return Ok(config
                .into_builder()
                .region(Region::new(FALLBACK_REGION))
                .build());
        }
        Err(ConnectorError::config(
            format!("{}.region", self.section),
            "no AWS region: set `region`, or AWS_REGION in the environment",
        ))
    }

    /// Whether requests go to an endpoint override (config or environment) rather than AWS.
    pub fn overrides_endpoint(&self) -> bool {
        self.endpoint_url.is_some_and(|u| !u.is_empty()) || endpoint_from_env(self.service)
    }
}

/// `AWS_ENDPOINT_URL` or this service's `AWS_ENDPOINT_URL_<SERVICE>` is set.
fn endpoint_from_env(service: &str) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    set("AWS_ENDPOINT_URL") || (!service.is_empty() && set(&format!("AWS_ENDPOINT_URL_{service}")))
}

/// An endpoint override must be an http(s) URL: the SDK would otherwise fail on the first request
/// with a less direct message.
pub(crate) fn check_endpoint(section: &str, url: &str) -> Result<()> {
    let ok =
        (url.starts_with("http://") || url.starts_with("https://")) && url.len() > "https://".len();
    if ok {
        Ok(())
    } else {
        Err(ConnectorError::config(
            format!("{section}.endpoint_url"),
            format!("'{url}' is not an http:// or https:// URL"),
        ))
    }
}

/// An SDK error with its whole chain of causes: the SDK's own `Display` says only "service
/// error" or "dispatch failure", the cause (an error code, a refused connection) is below it.
pub fn describe(err: &(dyn Error + 'static)) -> String {
    DisplayErrorContext(err).to_string()
}

/// A connector error for a failed AWS call: `what` says what was attempted (`writing
/// s3://bucket/key`), then the SDK's chain of causes.
pub fn call_failed(what: impl std::fmt::Display, err: &(dyn Error + 'static)) -> ConnectorError {
    ConnectorError::Other(format!("{what}: {}", describe(err)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_must_be_an_http_url() {
        assert!(check_endpoint("target.s3", "http://127.0.0.1:9000").is_ok());
        assert!(check_endpoint("target.s3", "https://s3.example.com").is_ok());
        let err = check_endpoint("target.s3", "127.0.0.1:9000").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("target.s3.endpoint_url: '127.0.0.1:9000'"),
            "{err}"
        );
    }
}
