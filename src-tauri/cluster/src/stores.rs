//! The object stores a query reads on the cluster: Ballista's own for local files, HTTP and S3
//! (`s3.*` settings from the client's session), and Azure Blob Storage for `az://container/…`
//! addresses, the account and endpoint from the session's `azure.*` settings (what Quire's
//! client sends, `quire_engine::cluster::store`), the key from this process's environment:
//! `AZURE_STORAGE_KEY` or `AZURE_STORAGE_SAS_TOKEN` (as Azure's own tools name them), when
//! `AZURE_STORAGE_ACCOUNT` names that account. A query names the endpoint, and a
//! shared notebook may name anyone's server, so the key is only used toward Azure itself (no
//! endpoint) or this machine (a loopback endpoint: Azurite); anything else, and a cluster with
//! no key, reads unsigned (a public container).

use std::sync::Arc;

use ballista_core::object_store::{
    session_config_with_s3_support, CustomObjectStoreRegistry, S3Options,
};
use datafusion::common::config::{ConfigEntry, ConfigExtension, ExtensionOptions};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::prelude::SessionConfig;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::{ClientOptions, ObjectStore};
use url::Url;

/// The `azure.*` settings of a query's session: which account, at which endpoint (none:
/// Azure itself).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AzureOptions {
    pub account: Option<String>,
    pub endpoint: Option<String>,
}

impl ConfigExtension for AzureOptions {
    const PREFIX: &'static str = "azure";
}

impl ExtensionOptions for AzureOptions {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        Box::new(self.clone())
    }

    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "account" => self.account = Some(value.to_string()),
            "endpoint" => self.endpoint = Some(value.to_string()),
            _ => {
                return Err(DataFusionError::Configuration(format!(
                    "azure.{key} is not a setting this cluster reads"
                )))
            }
        }
        Ok(())
    }

    fn entries(&self) -> Vec<ConfigEntry> {
        let entry = |key: &str, value: Option<String>| ConfigEntry {
            key: format!("{}.{key}", Self::PREFIX),
            value,
            description: "",
        };
        vec![
            entry("account", self.account.clone()),
            entry("endpoint", self.endpoint.clone()),
        ]
    }
}

/// A session's settings with both stores' extensions, as Ballista's own producer makes them
/// with the S3 one.
pub fn session_config() -> SessionConfig {
    session_config_with_s3_support().with_option_extension(AzureOptions::default())
}

/// The runtime a query runs in: its stores from the session's settings.
pub fn runtime_env(config: &SessionConfig) -> Result<Arc<RuntimeEnv>> {
    let extensions = &config.options().extensions;
    let s3 = extensions
        .get::<S3Options>()
        .cloned()
        .ok_or_else(|| DataFusionError::Configuration("S3 options not set".into()))?;
    let azure = extensions
        .get::<AzureOptions>()
        .cloned()
        .unwrap_or_default();
    Ok(Arc::new(
        RuntimeEnvBuilder::new()
            .with_object_store_registry(Arc::new(Stores {
                ballista: CustomObjectStoreRegistry::new(s3),
                azure,
            }))
            .build()?,
    ))
}

/// The scheduler's session (it lists a query's files when it plans it).
pub fn session_state(config: SessionConfig) -> Result<SessionState> {
    use ballista_core::extension::{
        ballista_aggregate_functions, ballista_scalar_functions, ballista_window_functions,
    };
    let runtime = runtime_env(&config)?;
    Ok(SessionStateBuilder::new()
        .with_runtime_env(runtime)
        .with_config(config)
        .with_default_features()
        .with_scalar_functions(ballista_scalar_functions())
        .with_aggregate_functions(ballista_aggregate_functions())
        .with_window_functions(ballista_window_functions())
        .build())
}

#[derive(Debug)]
struct Stores {
    ballista: CustomObjectStoreRegistry,
    azure: AzureOptions,
}

impl ObjectStoreRegistry for Stores {
    fn register_store(
        &self,
        _url: &Url,
        _store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        // Stores are made from each query's settings, never registered by name.
        None
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        match url.scheme() {
            "az" => Ok(Arc::new(azure_store(url, &self.azure)?)),
            _ => self.ballista.get_store(url),
        }
    }
}

fn azure_store(url: &Url, options: &AzureOptions) -> Result<object_store::azure::MicrosoftAzure> {
    let container = url
        .host_str()
        .ok_or_else(|| DataFusionError::Execution(format!("{url} names no container")))?;
    let account = options.account.as_deref().ok_or_else(|| {
        DataFusionError::Configuration(format!(
            "{url}: the query's session names no Azure account (azure.account)"
        ))
    })?;
    // Not `from_env`: its other credentials (a token service, the emulator switch) would go
    // to whatever endpoint a query names.
    let mut builder = MicrosoftAzureBuilder::new()
        .with_account(account)
        .with_container_name(container);
    if let Some(endpoint) = &options.endpoint {
        builder = builder
            .with_endpoint(endpoint.trim_end_matches('/').to_string())
            .with_client_options(
                ClientOptions::new().with_allow_http(endpoint.starts_with("http://")),
            );
    }
    let env = |name: &str| std::env::var(name).ok();
    builder = match credential(account, options.endpoint.as_deref(), env) {
        Some(Credential::Key(key)) => builder.with_access_key(key),
        Some(Credential::Sas(sas)) => {
            builder.with_config(object_store::azure::AzureConfigKey::SasKey, sas)
        }
        None => builder.with_skip_signature(true),
    };
    Ok(builder.build()?)
}

#[derive(Debug, PartialEq)]
enum Credential {
    Key(String),
    Sas(String),
}

/// The key or shared access signature requests to `account` at `endpoint` are signed with:
/// only toward Azure itself or this machine, and only when `AZURE_STORAGE_ACCOUNT` names this
/// account. None: unsigned.
fn credential(
    account: &str,
    endpoint: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Option<Credential> {
    let trusted = endpoint.is_none_or(is_loopback);
    // A key or signature is one account's: it is used only for the account named with it.
    let ours = env("AZURE_STORAGE_ACCOUNT").is_some_and(|named| named == account);
    if !(trusted && ours) {
        return None;
    }
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    var("AZURE_STORAGE_KEY")
        .map(Credential::Key)
        .or_else(|| var("AZURE_STORAGE_SAS_TOKEN").map(Credential::Sas))
}

/// Whether `url` is this machine.
fn is_loopback(url: &str) -> bool {
    match Url::parse(url).ok().as_ref().and_then(Url::host) {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clusters_key_goes_only_to_azure_itself_or_this_machine_for_its_account() {
        let env = |account: Option<&'static str>| {
            move |name: &str| match name {
                "AZURE_STORAGE_ACCOUNT" => account.map(String::from),
                "AZURE_STORAGE_KEY" => Some("a2V5".to_string()),
                _ => None,
            }
        };
        let key = Some(Credential::Key("a2V5".into()));
        assert_eq!(credential("acct", None, env(Some("acct"))), key);
        assert_eq!(
            credential(
                "acct",
                Some("http://127.0.0.1:10000/acct"),
                env(Some("acct"))
            ),
            key
        );
        // A key named with no account is no account's.
        assert_eq!(credential("acct", None, env(None)), None);
        // Another server a notebook names, or another account: unsigned.
        assert_eq!(
            credential("acct", Some("http://evil.example/acct"), env(Some("acct"))),
            None
        );
        assert_eq!(credential("other", None, env(Some("acct"))), None);
        let sas = |name: &str| match name {
            "AZURE_STORAGE_ACCOUNT" => Some("acct".to_string()),
            "AZURE_STORAGE_SAS_TOKEN" => Some("sv=1".to_string()),
            _ => None,
        };
        assert_eq!(
            credential("acct", None, sas),
            Some(Credential::Sas("sv=1".into()))
        );
        assert_eq!(credential("acct", None, |_| None), None);
    }

    #[test]
    fn only_azure_itself_and_this_machine_are_trusted_with_the_key() {
        assert!(is_loopback("http://127.0.0.1:10000/devstoreaccount1"));
        assert!(is_loopback("http://localhost:10000/acct"));
        assert!(is_loopback("http://[::1]:10000/acct"));
        assert!(!is_loopback("http://evil.example/acct"));
        assert!(!is_loopback("https://127.0.0.1.evil.example/acct"));
        assert!(!is_loopback("not a url"));
    }
}
