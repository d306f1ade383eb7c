//! The object store a cluster query reads, as the query's settings carry it to Ballista.

use datafusion::common::config::{ConfigEntry, ConfigExtension, ExtensionOptions};
use datafusion::error::DataFusionError;

use crate::remote::S3Connection;

/// The object store a cluster query reads, under the keys Ballista's executors and scheduler
/// take (`s3.endpoint`, `s3.region`, `s3.allow_http`). Never keys or secrets: the cluster reads
/// with its own credentials.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterStore {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub allow_http: Option<bool>,
}

impl ConfigExtension for ClusterStore {
    const PREFIX: &'static str = "s3";
}

impl ExtensionOptions for ClusterStore {
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

impl ClusterStore {
    /// What a link's connection says of where its objects are.
    pub fn of(settings: &S3Connection) -> ClusterStore {
        let endpoint = settings.endpoint.clone();
        ClusterStore {
            allow_http: endpoint
                .as_deref()
                .map(|e| e.starts_with("http://"))
                .filter(|plain| *plain),
            endpoint,
            region: settings.region.clone(),
        }
    }
}
