//! The object stores a query reads on the cluster: Ballista's own for local files, HTTP and S3
//! (`s3.*` settings from the client's session), and Azure Blob Storage for `az://container/…`
//! addresses, the account and endpoint from the session's `azure.*` settings (what Quire's
//! client sends, `quire_engine::cluster::store`), the key from this process's environment:
//! `AZURE_STORAGE_KEY` (as Azure's own tools name it) or what `object_store` reads itself
//! (`AZURE_STORAGE_ACCOUNT_KEY`, `AZURE_STORAGE_SAS_KEY`, …). With none, requests go unsigned.

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
    let mut builder = MicrosoftAzureBuilder::from_env()
        .with_account(account)
        .with_container_name(container);
    if let Some(endpoint) = &options.endpoint {
        builder = builder
            .with_endpoint(endpoint.trim_end_matches('/').to_string())
            .with_client_options(
                ClientOptions::new().with_allow_http(endpoint.starts_with("http://")),
            );
    }
    let key = std::env::var("AZURE_STORAGE_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    let named = std::env::var("AZURE_STORAGE_ACCOUNT").ok();
    if let Some(key) = key.filter(|_| named.as_deref().is_none_or(|n| n == account)) {
        builder = builder.with_access_key(key);
    }
    Ok(builder.build()?)
}
