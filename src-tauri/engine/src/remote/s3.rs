//! S3 and S3-compatible stores (MinIO, Ceph, R2, moto): a connection's settings and the store
//! made from them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::client::SpawnedReqwestConnector;
use object_store::{ClientOptions, RetryConfig};
use serde::{Deserialize, Serialize};

use super::{BucketStore, RemoteError};

/// How long connecting may take before the store counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take (a large range on a slow link still fits).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Retries of a failed request, and how long retrying may go on: a store that is down is
/// reported in seconds, not after the crate's default three minutes.
const RETRIES: usize = 2;
const RETRY_FOR: Duration = Duration::from_secs(15);

/// What a notebook keeps of an S3 connection: where, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct S3Connection {
    /// An S3-compatible server (`http://127.0.0.1:9000`); none for AWS itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The region to sign for; none takes the profile's, the environment's, or `us-east-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// A profile of the user's shared credentials file (`~/.aws/credentials`, or the file
    /// `AWS_SHARED_CREDENTIALS_FILE` names); none uses the `AWS_*` variables, then `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// Credentials as the user keeps them.
#[derive(Debug, Default)]
struct Credentials {
    key_id: Option<String>,
    secret: Option<String>,
    token: Option<String>,
    region: Option<String>,
}

impl S3Connection {
    /// Where requests go, in words.
    pub fn endpoint_text(&self) -> String {
        self.endpoint
            .clone()
            .unwrap_or_else(|| "Amazon S3".to_string())
    }

    /// The store for `bucket`. Nothing is sent yet: a wrong endpoint or refused credentials
    /// show at the first request.
    pub fn store(&self, bucket: &str) -> Result<BucketStore, RemoteError> {
        let endpoint = self.endpoint_text();
        if bucket.is_empty() {
            return Err(RemoteError::Invalid {
                what: "the address".into(),
                why: "it names no bucket (s3://bucket/path)".into(),
            });
        }
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_http_connector(SpawnedReqwestConnector::new(super::io::handle()))
            .with_client_options(client_options())
            .with_retry(retry());
        if let Some(url) = &self.endpoint {
            valid_endpoint(url, "~/.aws/credentials or the AWS_* variables")?;
            // S3-compatible servers are addressed by path (`host/bucket/key`), not by a
            // bucket subdomain they rarely have.
            builder = builder
                .with_endpoint(url.trim_end_matches('/'))
                .with_virtual_hosted_style_request(false);
        }
        let credentials = self.credentials()?;
        let region = self
            .region
            .clone()
            .or(credentials.region.clone())
            .unwrap_or_else(|| "us-east-1".to_string());
        builder = builder.with_region(region);
        match (credentials.key_id, credentials.secret) {
            (Some(id), Some(secret)) => {
                builder = builder
                    .with_access_key_id(id)
                    .with_secret_access_key(secret);
                if let Some(token) = credentials.token {
                    builder = builder.with_token(token);
                }
            }
            // No credentials anywhere: a public bucket, read unsigned (never a wait on the
            // instance metadata service a laptop does not have).
            _ => builder = builder.with_skip_signature(true),
        }
        BucketStore::built(builder.build(), endpoint)
    }

    /// The named profile, else the `AWS_*` variables, else the `default` profile.
    fn credentials(&self) -> Result<Credentials, RemoteError> {
        if let Some(profile) = &self.profile {
            let found = profile_credentials(profile)?;
            if found.key_id.is_none() || found.secret.is_none() {
                return Err(RemoteError::Invalid {
                    what: format!("the profile {profile}"),
                    why: format!(
                        "{} has no aws_access_key_id and aws_secret_access_key under [{profile}]",
                        credentials_file().display()
                    ),
                });
            }
            return Ok(found);
        }
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let (Some(id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            return Ok(Credentials {
                key_id: Some(id),
                secret: Some(secret),
                token: var("AWS_SESSION_TOKEN"),
                region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            });
        }
        match profile_credentials("default") {
            Ok(found) => Ok(found),
            // No file at all is no credentials, not an error.
            Err(_) => Ok(Credentials::default()),
        }
    }
}

/// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
fn credentials_file() -> PathBuf {
    std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".aws").join("credentials"))
}

/// `AWS_CONFIG_FILE`, else `~/.aws/config`.
fn config_file() -> PathBuf {
    std::env::var_os("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".aws").join("config"))
}

fn home() -> PathBuf {
    std::env::var_os(if cfg!(windows) { "USERPROFILE" } else { "HOME" })
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// A profile's keys from the credentials file, and its region from the config file (where
/// profiles other than `default` are written `[profile name]`).
fn profile_credentials(profile: &str) -> Result<Credentials, RemoteError> {
    let file = credentials_file();
    let text = std::fs::read_to_string(&file).map_err(|e| RemoteError::Invalid {
        what: format!("the profile {profile}"),
        why: format!("{} could not be read: {e}", file.display()),
    })?;
    let keys = ini_section(&text, profile).unwrap_or_default();
    let config = std::fs::read_to_string(config_file()).unwrap_or_default();
    let region = ini_section(&config, &format!("profile {profile}"))
        .or_else(|| ini_section(&config, profile))
        .and_then(|s| s.get("region").cloned())
        .or_else(|| keys.get("region").cloned());
    Ok(Credentials {
        key_id: keys.get("aws_access_key_id").cloned(),
        secret: keys.get("aws_secret_access_key").cloned(),
        token: keys.get("aws_session_token").cloned(),
        region,
    })
}

/// The `key = value` lines of `[name]` in an INI text (AWS's files: `#` and `;` comments).
fn ini_section(text: &str, name: &str) -> Option<HashMap<String, String>> {
    let mut found: Option<HashMap<String, String>> = None;
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = header.trim() == name;
            if inside {
                found.get_or_insert_with(HashMap::new);
            }
            continue;
        }
        if inside {
            if let Some((key, value)) = line.split_once('=') {
                found
                    .get_or_insert_with(HashMap::new)
                    .insert(key.trim().to_lowercase(), value.trim().to_string());
            }
        }
    }
    found
}

/// Timeouts that report a store that is down in seconds, and plain HTTP allowed (a server on
/// loopback or the local network).
pub(super) fn client_options() -> ClientOptions {
    ClientOptions::new()
        .with_connect_timeout(CONNECT_TIMEOUT)
        .with_timeout(REQUEST_TIMEOUT)
        .with_allow_http(true)
}

pub(super) fn retry() -> RetryConfig {
    RetryConfig {
        max_retries: RETRIES,
        retry_timeout: RETRY_FOR,
        ..RetryConfig::default()
    }
}

/// Refuses an endpoint that is not `http(s)://host[:port][/path]`, or that holds keys: they
/// would be kept in notebook.json, and belong where `keys_hint` says.
pub(super) fn valid_endpoint(url: &str, keys_hint: &str) -> Result<(), RemoteError> {
    let parsed = url::Url::parse(url).map_err(|e| RemoteError::Invalid {
        what: format!("the endpoint {url}"),
        why: format!("write it with its scheme, as http://host:port or https://host ({e})"),
    })?;
    if !parsed.username().is_empty()
        || parsed.password().is_some()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err(RemoteError::Invalid {
            what: "the endpoint".into(),
            why: format!(
                "it holds a user name, a password or a query; write only http://host:port and keep keys in {keys_hint}"
            ),
        });
    }
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(RemoteError::Invalid {
            what: format!("the endpoint {url}"),
            why: "write it as http://host:port or https://host".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_is_read_from_the_sections_aws_writes() {
        let text = "[default]\naws_access_key_id = A\n# a comment\n[work]\naws_access_key_id=B\naws_secret_access_key = s=c\n";
        let work = ini_section(text, "work").unwrap();
        assert_eq!(work["aws_access_key_id"], "B");
        // Only the first `=` splits: secrets may hold one.
        assert_eq!(work["aws_secret_access_key"], "s=c");
        assert_eq!(
            ini_section(text, "default").unwrap()["aws_access_key_id"],
            "A"
        );
        assert!(ini_section(text, "missing").is_none());
    }

    #[test]
    fn a_malformed_endpoint_is_refused_in_words() {
        let c = S3Connection {
            endpoint: Some("localhost:9000".into()),
            region: None,
            profile: None,
        };
        let e = c.store("b").err().unwrap().to_string();
        assert!(e.contains("http://host:port"), "{e}");
        let with_keys = S3Connection {
            endpoint: Some("http://AKIA:secret@127.0.0.1:9000".into()),
            region: None,
            profile: None,
        };
        let e = with_keys.store("b").err().unwrap().to_string();
        assert!(e.contains("user name") && !e.contains("secret@"), "{e}");
    }
}
