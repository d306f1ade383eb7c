//! A Ballista cluster connection's settings: where its scheduler listens, and which folders its
//! executors see at the same paths as this machine. Nothing secret: the cluster reads object
//! storage with its own credentials, never ones Quire sends.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::RemoteError;

/// Ballista's scheduler port when an address names none.
pub const DEFAULT_SCHEDULER_PORT: u16 = 50050;

/// What a notebook keeps of a cluster connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct ClusterConnection {
    /// The scheduler, as Ballista writes it: `df://host:port`.
    pub url: String,
    /// Folders every executor reads at the same path as this machine (a network mount, or
    /// this machine itself for a local cluster): linked files under them may run on the
    /// cluster. None means only object storage does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_folders: Vec<String>,
}

impl ClusterConnection {
    /// Refuses an address that is not `df://host[:port]` or a shared folder that is not an
    /// absolute path, in words.
    pub fn validate(&self) -> Result<(), RemoteError> {
        self.host_port()?;
        for folder in &self.shared_folders {
            if !Path::new(folder).is_absolute() {
                return Err(RemoteError::Invalid {
                    what: format!("the shared folder {folder:?}"),
                    why: "a shared folder is an absolute path, as every executor sees it".into(),
                });
            }
        }
        Ok(())
    }

    fn host_port(&self) -> Result<(String, u16), RemoteError> {
        let invalid = |why: &str| RemoteError::Invalid {
            what: format!("the cluster address {:?}", self.url),
            why: why.to_string(),
        };
        let url = url::Url::parse(self.url.trim())
            .map_err(|_| invalid("a Ballista scheduler's address is df://host:port"))?;
        if url.scheme() != "df" {
            return Err(invalid("a Ballista scheduler's address starts with df://"));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("it names no host"))?;
        if !matches!(url.path(), "" | "/") || url.query().is_some() || !url.username().is_empty() {
            return Err(invalid("it is df://host:port and nothing more"));
        }
        Ok((
            host.to_string(),
            url.port().unwrap_or(DEFAULT_SCHEDULER_PORT),
        ))
    }

    /// `df://host:port`, the port spelled out, for messages.
    pub fn endpoint(&self) -> String {
        match self.host_port() {
            Ok((host, port)) => format!("df://{host}:{port}"),
            Err(_) => self.url.clone(),
        }
    }

    /// The scheduler's gRPC (and REST) address: `http://host:port`.
    pub fn scheduler_url(&self) -> Result<String, RemoteError> {
        let (host, port) = self.host_port()?;
        Ok(format!("http://{host}:{port}"))
    }

    /// Host and port for a socket (an IPv6 address without the brackets a URL puts round it).
    pub fn address(&self) -> Result<(String, u16), RemoteError> {
        let (host, port) = self.host_port()?;
        let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        Ok((bare.map_or(host.clone(), str::to_string), port))
    }

    /// Whether the executors read `path` where this machine does: it lies in a shared folder
    /// (compared by whole path components, so `/data2` is not inside `/data`).
    pub fn shares(&self, path: &Path) -> bool {
        self.shared_folders
            .iter()
            .any(|folder| path.starts_with(PathBuf::from(folder)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(url: &str, shared: &[&str]) -> ClusterConnection {
        ClusterConnection {
            url: url.into(),
            shared_folders: shared.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn an_address_is_df_host_and_port() {
        let c = cluster("df://127.0.0.1:50051", &[]);
        c.validate().unwrap();
        assert_eq!(c.scheduler_url().unwrap(), "http://127.0.0.1:50051");
        assert_eq!(
            cluster("df://scheduler", &[]).endpoint(),
            "df://scheduler:50050"
        );
        let v6 = cluster("df://[::1]:50051", &[]);
        assert_eq!(v6.scheduler_url().unwrap(), "http://[::1]:50051");
        assert_eq!(v6.address().unwrap(), ("::1".to_string(), 50051));
        for bad in [
            "http://h:1",
            "df://",
            "h:50050",
            "df://h:1/path",
            "df://u@h:1",
            "",
        ] {
            let e = cluster(bad, &[]).validate().unwrap_err().to_string();
            assert!(e.contains("cluster address"), "{bad}: {e}");
        }
    }

    #[test]
    fn shared_folders_are_absolute_and_matched_by_whole_components() {
        let c = cluster("df://h:1", &["/data"]);
        c.validate().unwrap();
        assert!(c.shares(Path::new("/data/sales/a.parquet")));
        assert!(!c.shares(Path::new("/data2/a.parquet")));
        assert!(!cluster("df://h:1", &[]).shares(Path::new("/data/a.parquet")));
        let e = cluster("df://h:1", &["data"]).validate().unwrap_err();
        assert!(e.to_string().contains("absolute path"), "{e}");
    }
}
