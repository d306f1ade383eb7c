//! The object store a cluster query reads, as the query's settings carry it to Ballista: an S3
//! bucket's as Ballista's own `s3.*` settings, an Azure account's as `azure.*` settings that
//! Quire's scheduler and executors (`src-tauri/cluster`) read.

use datafusion::common::config::{ConfigEntry, ConfigExtension, ExtensionOptions};
use datafusion::error::DataFusionError;

use datafusion::prelude::SessionConfig;

use crate::remote::{S3Connection, StoreSettings};

/// The object store a cluster query reads, under the keys Ballista's executors and scheduler
/// take (`s3.endpoint`, `s3.region`, `s3.allow_http`). Never keys or secrets: the cluster reads
/// with its own credentials.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct S3Store {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub allow_http: Option<bool>,
}

impl ConfigExtension for S3Store {
    const PREFIX: &'static str = "s3";
}

impl ExtensionOptions for S3Store {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        Box::new(self.clone())
    }

    fn set(&mut self, key: &str, value: &str) -> datafusion::error::Result<()> {
        match key {
            "endpoint" => self.endpoint = Some(value.to_string()),
            "region" => self.region = Some(value.to_string()),
            "allow_http" => {
                self.allow_http = Some(value.parse().map_err(|_| {
                    DataFusionError::Configuration(format!(
                        "s3.allow_http is true or false, not {value}"
                    ))
                })?)
            }
            _ => {
                return Err(DataFusionError::Configuration(format!(
                    "s3.{key} is not a setting Quire sends a cluster"
                )))
            }
        }
        Ok(())
    }

    /// Prefixed, as Ballista's own `S3Options` lists them: the scheduler sets each by its key.
    fn entries(&self) -> Vec<ConfigEntry> {
        let entry = |key: &str, value: Option<String>| ConfigEntry {
            key: format!("{}.{key}", Self::PREFIX),
            value,
            description: "",
        };
        vec![
            entry("endpoint", self.endpoint.clone()),
            entry("region", self.region.clone()),
            entry("allow_http", self.allow_http.map(|b| b.to_string())),
        ]
    }
}

impl S3Store {
    /// What a link's connection says of where its objects are.
    pub fn of(settings: &S3Connection) -> S3Store {
        let endpoint = settings.endpoint.clone();
        S3Store {
            allow_http: endpoint
                .as_deref()
                .map(|e| e.starts_with("http://"))
                .filter(|plain| *plain),
            endpoint,
            region: settings.region.clone(),
        }
    }
}

/// An Azure storage account a cluster query reads, under the keys Quire's scheduler and
/// executors take (`azure.account`, `azure.endpoint`). Never a key: the cluster reads with its
/// own (`AZURE_STORAGE_KEY` and the like in its environment).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AzureStore {
    pub account: Option<String>,
    pub endpoint: Option<String>,
}

impl ConfigExtension for AzureStore {
    const PREFIX: &'static str = "azure";
}

impl ExtensionOptions for AzureStore {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        Box::new(self.clone())
    }

    fn set(&mut self, key: &str, value: &str) -> datafusion::error::Result<()> {
        match key {
            "account" => self.account = Some(value.to_string()),
            "endpoint" => self.endpoint = Some(value.to_string()),
            _ => {
                return Err(DataFusionError::Configuration(format!(
                    "azure.{key} is not a setting Quire sends a cluster"
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

/// The one object store a cluster query reads.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterStore {
    S3(S3Store),
    Azure(AzureStore),
}

impl ClusterStore {
    /// What a link's connection says of where its objects are.
    pub fn of(settings: &StoreSettings) -> ClusterStore {
        match settings {
            StoreSettings::S3(s3) => ClusterStore::S3(S3Store::of(s3)),
            StoreSettings::Azure(azure) => ClusterStore::Azure(AzureStore {
                account: Some(azure.account.clone()),
                endpoint: azure.endpoint.clone(),
            }),
        }
    }

    /// Where it is, for messages.
    pub fn shown(&self) -> String {
        match self {
            ClusterStore::S3(s3) => s3.endpoint.clone().unwrap_or_else(|| "AWS S3".into()),
            ClusterStore::Azure(azure) => azure.endpoint.clone().unwrap_or_else(|| {
                format!(
                    "the Azure account {}",
                    azure.account.as_deref().unwrap_or_default()
                )
            }),
        }
    }

    /// The query's settings with this store's added.
    pub fn configure(self, config: SessionConfig) -> SessionConfig {
        match self {
            ClusterStore::S3(s3) => config.with_option_extension(s3),
            ClusterStore::Azure(azure) => config.with_option_extension(azure),
        }
    }
}
