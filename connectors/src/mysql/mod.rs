//! Shared by the `mysql` source and target: connection settings and errors, the catalog
//! queries, and the type mapping.

pub(crate) mod catalog;
pub mod source;
pub mod target;
pub(crate) mod types;

pub use source::MySqlSource;
pub use target::MySqlTarget;

use std::time::Duration;

use mysql_async::{Conn, OptsBuilder, SslOpts};
use serde::{Deserialize, Serialize};

use crate::{ConnectorError, Result};

/// Default MySQL port.
pub(crate) fn default_port() -> u16 {
    3306
}

/// What a Secrets Manager entry in the layout RDS uses fills in a `mysql` section.
pub(crate) const SECRET_FIELDS: &[crate::secrets::SecretField] = &[
    crate::secrets::SecretField::new("host", "host"),
    crate::secrets::SecretField::new("port", "port"),
    crate::secrets::SecretField::new("username", "username"),
    crate::secrets::SecretField::new("user", "username"),
    crate::secrets::SecretField::new("password", "password"),
    crate::secrets::SecretField::new("dbname", "db"),
];

/// Idle seconds after which the server may close one of our connections.
const SESSION_WAIT_TIMEOUT_S: u32 = 86_400;

/// Whether a driver error means the connection is gone (closed by the server, a proxy or the
/// network), as opposed to a statement the server refused.
pub(crate) fn connection_lost(e: &mysql_async::Error) -> bool {
    use mysql_async::{DriverError, Error};
    match e {
        Error::Io(_) => true,
        Error::Driver(DriverError::ConnectionClosed | DriverError::PacketOutOfOrder) => true,
        // Gone away, lost connection, killed, shutting down, disconnected for inactivity.
        Error::Server(s) => matches!(
            s.code,
            2006 | 2013 | 1927 | 1053 | 4031 | 1158 | 1159 | 1160 | 1161
        ),
        _ => false,
    }
}

/// Default seconds to wait for a connection.
pub(crate) fn default_connect_timeout() -> u64 {
    10
}

/// TLS settings of a MySQL connection (the `tls` key of the `mysql` source and target).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct Tls {
    /// `required`: encrypt, without checking the server's certificate; `verify_ca`: the
    /// certificate must be signed by `ca` (or a system root); `verify_identity` (default): it
    /// must also name the host.
    #[serde(default)]
    pub mode: TlsMode,
    /// PEM file of the certificate authority that signed the server's certificate.
    #[serde(default)]
    pub ca: Option<String>,
}

/// How much of the server's certificate is checked.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum TlsMode {
    /// Encrypted; the certificate is not checked.
    Required,
    /// Encrypted; the certificate must be signed by a trusted authority.
    VerifyCa,
    /// Encrypted; the certificate must be trusted and name the host.
    #[default]
    VerifyIdentity,
}

/// Where and how to connect: the settings the source and the target share, checked.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    /// Config section, for error paths (`source.mysql`).
    pub section: &'static str,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: Option<String>,
    pub db: String,
    pub tls: Option<Tls>,
    pub connect_timeout: Duration,
}

/// The connection keys of a `mysql` config section, before checking.
pub(crate) struct EndpointKeys<'a> {
    pub host: &'a str,
    pub port: u16,
    pub username: &'a str,
    pub password: Option<&'a str>,
    pub password_env: Option<&'a str>,
    pub db: &'a str,
    pub tls: Option<&'a Tls>,
    pub connect_timeout_s: u64,
}

impl Endpoint {
    /// Check the connection keys of the section at `section`; errors name the key.
    pub fn new(section: &'static str, keys: EndpointKeys<'_>) -> Result<Self> {
        let key = |k: &str| format!("{section}.{k}");
        for (name, value) in [
            ("host", keys.host),
            ("username", keys.username),
            ("db", keys.db),
        ] {
            if value.trim().is_empty() {
                return Err(ConnectorError::config(key(name), "must not be empty"));
            }
        }
        let password = match (keys.password, keys.password_env) {
            (Some(_), Some(_)) => {
                return Err(ConnectorError::config(
                    key("password_env"),
                    "give either `password` or `password_env`, not both",
                ))
            }
            (Some(p), None) => Some(p.to_string()),
            (None, Some(var)) => Some(std::env::var(var).map_err(|_| {
                ConnectorError::config(
                    key("password_env"),
                    format!("environment variable `{var}` is not set"),
                )
            })?),
            (None, None) => None,
        };
        if keys.connect_timeout_s == 0 {
            return Err(ConnectorError::config(
                key("connect_timeout_s"),
                "must be at least 1",
            ));
        }
        Ok(Self {
            section,
            host: keys.host.to_string(),
            port: keys.port,
            username: keys.username.to_string(),
            password,
            db: keys.db.to_string(),
            tls: keys.tls.cloned(),
            connect_timeout: Duration::from_secs(keys.connect_timeout_s),
        })
    }

    /// `user@host:port/db`, for messages.
    pub fn describe(&self) -> String {
        format!("{}@{}:{}/{}", self.username, self.host, self.port, self.db)
    }

    /// Open a connection whose session reads and writes times in UTC, text in utf8mb4, and
    /// (with `strict`) refuses to truncate or coerce values.
    pub async fn connect(&self, strict: bool) -> Result<Conn> {
        let mut init = vec![
            "SET time_zone = '+00:00'".to_string(),
            "SET NAMES utf8mb4".to_string(),
            // A run's connections wait on one another (a snapshot while the target catches up,
            // the lock holder while writers load): a short server idle timeout must not end
            // them. Idle-dropping networks are the targets' keepalive's job.
            format!("SET SESSION wait_timeout = {SESSION_WAIT_TIMEOUT_S}"),
        ];
        if strict {
            init.push(
                "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO'"
                    .to_string(),
            );
        }
        let mut opts = OptsBuilder::default()
            .ip_or_hostname(self.host.clone())
            .tcp_port(self.port)
            .prefer_socket(false)
            .user(Some(self.username.clone()))
            .pass(self.password.clone())
            .db_name(Some(self.db.clone()))
            .init(init);
        if let Some(tls) = &self.tls {
            let mut ssl = SslOpts::default();
            if let Some(ca) = &tls.ca {
                if !std::path::Path::new(ca).is_file() {
                    return Err(ConnectorError::config(
                        format!("{}.tls.ca", self.section),
                        format!("no such file: {ca}"),
                    ));
                }
                ssl = ssl.with_root_certs(vec![std::path::PathBuf::from(ca).into()]);
            }
            ssl = match tls.mode {
                TlsMode::Required => ssl.with_danger_accept_invalid_certs(true),
                TlsMode::VerifyCa => ssl.with_danger_skip_domain_validation(true),
                TlsMode::VerifyIdentity => ssl,
            };
            opts = opts.ssl_opts(Some(ssl));
        }
        match tokio::time::timeout(self.connect_timeout, Conn::new(opts)).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(self.error("cannot connect", e)),
            Err(_) => Err(ConnectorError::Other(format!(
                "{}: cannot connect to MySQL at {}: no answer within {} s",
                self.section,
                self.describe(),
                self.connect_timeout.as_secs()
            ))),
        }
    }

    /// A driver or server error while doing `what`, naming the server and, for the common
    /// mistakes, the config key to fix.
    pub fn error(&self, what: &str, e: mysql_async::Error) -> ConnectorError {
        let at = self.describe();
        let section = self.section;
        let message = match &e {
            mysql_async::Error::Server(s) if s.code == 1045 => format!(
                "{section}: {what}: access denied for `{}` at {at} (check {section}.username and {section}.password): {}",
                self.username, s.message
            ),
            mysql_async::Error::Server(s) if s.code == 1049 => format!(
                "{section}.db: {what}: database `{}` does not exist at {at}",
                self.db
            ),
            mysql_async::Error::Server(s) => format!(
                "{section}: {what}: MySQL at {at} answered ERROR {} ({}): {}",
                s.code, s.state, s.message
            ),
            mysql_async::Error::Io(io) => format!("{section}: {what}: MySQL at {at}: {io}"),
            other => format!("{section}: {what}: MySQL at {at}: {other}"),
        };
        ConnectorError::Other(message)
    }
}

#[cfg(any(test, feature = "test-support"))]
pub mod test_server;
