//! Azure Blob Storage and servers speaking its protocol (Azurite): a connection's settings and
//! the store made from them.

use object_store::azure::MicrosoftAzureBuilder;
use object_store::client::SpawnedReqwestConnector;
use serde::{Deserialize, Serialize};

use super::s3::{client_options, retry, valid_endpoint};
use super::{BucketStore, RemoteError};

/// What a notebook keeps of an Azure connection: where, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct AzureConnection {
    /// The storage account (`mydata`: 3 to 24 lowercase letters and digits).
    pub account: String,
    /// A server speaking the Blob protocol, with the account in its path as Azurite wants it
    /// (`http://127.0.0.1:10000/devstoreaccount1`); none for Azure itself
    /// (`https://<account>.blob.core.windows.net`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// How requests are signed, found where Azure's own tools keep it.
#[derive(Debug, PartialEq, Eq)]
enum Credential {
    AccessKey(String),
    Sas(String),
    /// The user's `az login`, through the Azure CLI.
    Cli,
    /// A public container, read unsigned.
    Anonymous,
}

impl AzureConnection {
    /// Where requests go, in words.
    pub fn endpoint_text(&self) -> String {
        self.endpoint
            .clone()
            .unwrap_or_else(|| format!("https://{}.blob.core.windows.net", self.account))
    }

    /// The store for `container`. Nothing is sent yet: a wrong endpoint or a refused key show
    /// at the first request.
    pub fn store(&self, container: &str) -> Result<BucketStore, RemoteError> {
        let endpoint = self.endpoint_text();
        self.validate()?;
        if container.is_empty() {
            return Err(RemoteError::Invalid {
                what: "the address".into(),
                why: "it names no container (az://container/path)".into(),
            });
        }
        let mut builder = MicrosoftAzureBuilder::new()
            .with_account(&self.account)
            .with_container_name(container)
            .with_http_connector(SpawnedReqwestConnector::new(super::io::handle()))
            .with_client_options(client_options())
            .with_retry(retry());
        if let Some(url) = &self.endpoint {
            builder = builder.with_endpoint(url.trim_end_matches('/').to_string());
        }
        builder = match credential(&self.account, self.endpoint.as_deref(), |name: &str| {
            std::env::var(name)
        })? {
            Credential::AccessKey(key) => builder.with_access_key(key),
            Credential::Sas(token) => {
                builder.with_config(object_store::azure::AzureConfigKey::SasKey, token)
            }
            Credential::Cli => builder.with_use_azure_cli(true),
            Credential::Anonymous => builder.with_skip_signature(true),
        };
        BucketStore::built(builder.build(), endpoint)
    }

    /// Refuses settings that cannot reach an account, in words.
    pub fn validate(&self) -> Result<(), RemoteError> {
        let account = &self.account;
        if !(3..=24).contains(&account.len())
            || !account
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        {
            return Err(RemoteError::Invalid {
                what: format!("the storage account {account:?}"),
                why: "an account name is 3 to 24 lowercase letters and digits".into(),
            });
        }
        if let Some(url) = &self.endpoint {
            // Paths are allowed: Azurite and other emulators put the account there.
            valid_endpoint(url, "AZURE_STORAGE_KEY")?;
        }
        Ok(())
    }
}

/// `AZURE_STORAGE_CONNECTION_STRING` when its `AccountName` is `account` (its key or its
/// shared access signature), else `AZURE_STORAGE_KEY` (or `_ACCOUNT_KEY`, as object_store
/// names it) or `AZURE_STORAGE_SAS_TOKEN` when `AZURE_STORAGE_ACCOUNT` is `account`, else the
/// Azure CLI's `az login` when `az` is installed, else unsigned.
///
/// A notebook names the endpoint, and a shared notebook may name anyone's server, so a key
/// goes only where the user sent it: to Azure itself (no endpoint), to this machine
/// (loopback: Azurite), or to the `BlobEndpoint` of the user's own connection string. Shared
/// Key signatures do not cover the host, so a request signed for a stranger's server could be
/// replayed against Azure. The user's Azure token goes to Azure only. `var` reads the
/// environment (a parameter so tests need not change the process's).
fn credential(
    account: &str,
    endpoint: Option<&str>,
    var: impl Fn(&str) -> Result<String, std::env::VarError>,
) -> Result<Credential, RemoteError> {
    let var = |name: &str| var(name).ok().filter(|v| !v.trim().is_empty());
    let for_this = var("AZURE_STORAGE_ACCOUNT").is_some_and(|named| named == account);
    let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
    let trusted = endpoint.is_none_or(is_loopback);
    if let Some(text) = var("AZURE_STORAGE_CONNECTION_STRING") {
        let parts: Vec<(&str, &str)> = text
            .split(';')
            .filter_map(|part| part.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let get = |key: &str| {
            parts
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.to_string())
        };
        let reaches = endpoint.is_none_or(|url| {
            is_loopback(url) || get("BlobEndpoint").is_some_and(|named| same(&named, url))
        });
        if get("AccountName").is_some_and(|named| named == account) && reaches {
            if let Some(key) = get("AccountKey") {
                return Ok(Credential::AccessKey(key));
            }
            if let Some(sas) = get("SharedAccessSignature") {
                return Ok(Credential::Sas(sas));
            }
        }
    }
    if for_this && trusted {
        if let Some(key) = var("AZURE_STORAGE_KEY").or_else(|| var("AZURE_STORAGE_ACCOUNT_KEY")) {
            return Ok(Credential::AccessKey(key));
        }
        if let Some(sas) = var("AZURE_STORAGE_SAS_TOKEN") {
            return Ok(Credential::Sas(sas.trim_start_matches('?').to_string()));
        }
    }
    Ok(if endpoint.is_none() && on_path("az") {
        Credential::Cli
    } else {
        Credential::Anonymous
    })
}

/// Whether an endpoint is on this machine.
fn is_loopback(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| match u.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    })
}

/// Whether a program of that name is in one of `PATH`'s folders.
fn on_path(program: &str) -> bool {
    let names: Vec<String> = if cfg!(windows) {
        vec![format!("{program}.cmd"), format!("{program}.exe")]
    } else {
        vec![program.to_string()]
    };
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| names.iter().any(|n| dir.join(n).is_file()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Result<String, std::env::VarError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .ok_or(std::env::VarError::NotPresent)
        }
    }

    #[test]
    fn keys_come_from_the_variables_azure_tools_read_for_this_account_only() {
        let string = "DefaultEndpointsProtocol=http;AccountName=lake;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/lake;";
        let local = Some("http://127.0.0.1:10000/lake");
        let key =
            |account: &str, pairs: &[(&str, &str)]| credential(account, local, env(pairs)).unwrap();
        assert_eq!(
            key("lake", &[("AZURE_STORAGE_CONNECTION_STRING", string)]),
            Credential::AccessKey("a2V5".into())
        );
        // Another account's string is not used; a key named for this account is.
        assert_eq!(
            key(
                "other",
                &[
                    ("AZURE_STORAGE_CONNECTION_STRING", string),
                    ("AZURE_STORAGE_ACCOUNT", "other"),
                    ("AZURE_STORAGE_KEY", "b3RoZXI=")
                ]
            ),
            Credential::AccessKey("b3RoZXI=".into())
        );
        assert_eq!(
            key(
                "lake",
                &[
                    ("AZURE_STORAGE_ACCOUNT", "lake"),
                    ("AZURE_STORAGE_SAS_TOKEN", "?sv=2024&sig=x")
                ]
            ),
            Credential::Sas("sv=2024&sig=x".into())
        );
        // A key or a token not named for this account never leaves for its endpoint, nor
        // does a connection string without an account.
        for pairs in [
            &[
                ("AZURE_STORAGE_ACCOUNT", "other"),
                ("AZURE_STORAGE_KEY", "b3RoZXI="),
            ][..],
            &[("AZURE_STORAGE_KEY", "b3RoZXI=")][..],
            &[("AZURE_STORAGE_SAS_TOKEN", "sv=1&sig=y")][..],
            &[("AZURE_STORAGE_CONNECTION_STRING", "AccountKey=a2V5")][..],
        ] {
            assert_eq!(key("lake", pairs), Credential::Anonymous, "{pairs:?}");
        }
    }

    #[test]
    fn a_key_goes_only_to_azure_this_machine_or_the_users_own_endpoint() {
        let named = [
            ("AZURE_STORAGE_ACCOUNT", "lake"),
            ("AZURE_STORAGE_KEY", "a2V5"),
        ];
        // A notebook naming someone else's server gets nothing signed.
        let stranger = Some("https://blobs.example.net/lake");
        assert_eq!(
            credential("lake", stranger, env(&named)).unwrap(),
            Credential::Anonymous
        );
        // Azure itself and this machine do.
        assert_eq!(
            credential("lake", None, env(&named)).unwrap(),
            Credential::AccessKey("a2V5".into())
        );
        assert_eq!(
            credential("lake", Some("http://localhost:10000/lake"), env(&named)).unwrap(),
            Credential::AccessKey("a2V5".into())
        );
        // The user's own connection string names the server its key is for.
        let string = [(
            "AZURE_STORAGE_CONNECTION_STRING",
            "AccountName=lake;AccountKey=a2V5;BlobEndpoint=https://blobs.example.net/lake/",
        )];
        assert_eq!(
            credential("lake", stranger, env(&string)).unwrap(),
            Credential::AccessKey("a2V5".into())
        );
        assert_eq!(
            credential("lake", Some("https://other.example.net/lake"), env(&string)).unwrap(),
            Credential::Anonymous
        );
    }

    #[test]
    fn settings_that_cannot_reach_an_account_are_refused_in_words() {
        let bad = AzureConnection {
            account: "My_Data".into(),
            endpoint: None,
        };
        let e = bad.store("c").err().unwrap().to_string();
        assert!(e.contains("3 to 24 lowercase letters"), "{e}");
        let keyed = AzureConnection {
            account: "devstoreaccount1".into(),
            endpoint: Some("http://u:key@127.0.0.1:10000/devstoreaccount1".into()),
        };
        let e = keyed.store("c").err().unwrap().to_string();
        assert!(e.contains("user name") && !e.contains("key@"), "{e}");
        let fine = AzureConnection {
            account: "devstoreaccount1".into(),
            endpoint: Some("http://127.0.0.1:10000/devstoreaccount1".into()),
        };
        assert_eq!(
            fine.store("c").unwrap().endpoint,
            "http://127.0.0.1:10000/devstoreaccount1"
        );
    }
}
