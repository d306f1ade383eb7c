//! Object storage addresses and the stores behind them, whichever service holds the bucket:
//! `s3://bucket/key` through an S3 connection, `az://container/key` through an Azure one.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{AzureConnection, CountedStore, RemoteError, S3Connection};

/// A store for one bucket (or container), with the traffic it made.
pub struct BucketStore {
    pub store: Arc<CountedStore>,
    /// Where requests go, for messages.
    pub endpoint: String,
}

impl BucketStore {
    /// The store a builder made, counted; a settings problem the builder found is said as the
    /// connection not being usable.
    pub(super) fn built<S: object_store::ObjectStore>(
        built: object_store::Result<S>,
        endpoint: String,
    ) -> Result<BucketStore, RemoteError> {
        let store = built.map_err(|e| RemoteError::Invalid {
            what: format!("the connection to {endpoint}"),
            why: e.to_string(),
        })?;
        Ok(BucketStore {
            store: Arc::new(CountedStore::new(
                Arc::new(store) as Arc<dyn object_store::ObjectStore>
            )),
            endpoint,
        })
    }
}

/// The service an address is for, told by its scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    S3,
    Azure,
}

impl Service {
    pub fn scheme(self) -> &'static str {
        match self {
            Service::S3 => "s3",
            Service::Azure => "az",
        }
    }

    /// What the service calls a bucket.
    pub fn bucket_word(self) -> &'static str {
        match self {
            Service::S3 => "bucket",
            Service::Azure => "container",
        }
    }

    /// Where the user keeps the keys this service's requests are signed with, for messages.
    pub fn keys_hint(self) -> &'static str {
        match self {
            Service::S3 => "the AWS_* variables or the profile the connection names",
            Service::Azure => {
                "AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN for this account, or az login"
            }
        }
    }
}

/// A link's or an export's store settings, as its connection had them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreSettings {
    S3(S3Connection),
    Azure(AzureConnection),
}

impl StoreSettings {
    pub fn service(&self) -> Service {
        match self {
            StoreSettings::S3(_) => Service::S3,
            StoreSettings::Azure(_) => Service::Azure,
        }
    }

    /// The store holding `url` and the key in it; an address for another service is refused
    /// in words.
    pub fn store_for(&self, url: &str) -> Result<(BucketStore, String), RemoteError> {
        let (service, bucket, key) = split_address(url)?;
        if service != self.service() {
            let wanted = self.service();
            return Err(RemoteError::Invalid {
                what: format!("the address {url}"),
                why: format!(
                    "this connection reaches {}, whose addresses start with {}://",
                    match wanted {
                        Service::S3 => "S3",
                        Service::Azure => "Azure Blob Storage",
                    },
                    wanted.scheme()
                ),
            });
        }
        let store = match self {
            StoreSettings::S3(s3) => s3.store(&bucket)?,
            StoreSettings::Azure(azure) => azure.store(&bucket)?,
        };
        Ok((store, key))
    }

    /// Reaches `url` (`s3://bucket/prefix`, `az://container/prefix`) and lists what is
    /// directly under it: the test a Connections panel runs, one request.
    pub fn check(&self, url: &str) -> Result<super::ConnectionCheck, RemoteError> {
        use object_store::ObjectStore;
        let (BucketStore { store, endpoint }, key) = self.store_for(url)?;
        let started = std::time::Instant::now();
        let prefix = key.trim_end_matches('/');
        let prefix = (!prefix.is_empty()).then(|| object_store::path::Path::from(prefix));
        let listed = super::io::wait(store.list_with_delimiter(prefix.as_ref()))
            .map_err(|e| RemoteError::from_store(&endpoint, url, &e))?;
        Ok(super::ConnectionCheck {
            endpoint,
            objects: listed.objects.len().try_into().unwrap_or(u32::MAX),
            folders: listed.common_prefixes.len().try_into().unwrap_or(u32::MAX),
            elapsed_ms: started.elapsed().as_millis().try_into().unwrap_or(u32::MAX),
            server: None,
        })
    }
}

/// The service, bucket and key of `s3://bucket/key` or `az://container/key` (the key may be
/// empty: the whole bucket).
pub fn split_address(url: &str) -> Result<(Service, String, String), RemoteError> {
    let invalid = |why: &str| RemoteError::Invalid {
        what: format!("the address {url}"),
        why: why.to_string(),
    };
    let (service, rest) = if let Some(rest) = url.strip_prefix("s3://") {
        (Service::S3, rest)
    } else if let Some(rest) = url.strip_prefix("az://") {
        (Service::Azure, rest)
    } else {
        return Err(invalid(
            "an object storage address starts with s3:// (S3) or az:// (Azure)",
        ));
    };
    let word = service.bucket_word();
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(invalid(&format!(
            "it names no {word} ({}://{word}/path)",
            service.scheme()
        )));
    }
    // Letters, digits, '.', '-' (and '_' in old S3 buckets) are all a name can hold; the usual
    // slip is an address pasted after a scheme that was already there.
    if !bucket
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(invalid(&format!(
            "\"{bucket}\" cannot be a {word} name (letters, digits, '.' and '-' only)"
        )));
    }
    Ok((service, bucket.to_string(), key.to_string()))
}

/// The bucket and key of an object storage address (see [`split_address`]).
pub fn split_url(url: &str) -> Result<(String, String), RemoteError> {
    split_address(url).map(|(_, bucket, key)| (bucket, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_name_a_bucket_or_a_container() {
        assert_eq!(
            split_url("s3://b/x/y.parquet").unwrap(),
            ("b".into(), "x/y.parquet".into())
        );
        assert_eq!(split_url("s3://b").unwrap(), ("b".into(), "".into()));
        assert!(split_url("s3:///x").is_err());
        // An address pasted after the "s3://" the box already held.
        let doubled = split_url("s3://s3://b/x.parquet").unwrap_err().to_string();
        assert!(
            doubled.contains("\"s3:\" cannot be a bucket name"),
            "{doubled}"
        );
        assert!(split_url("https://b/x").is_err());
        assert_eq!(
            split_address("az://sales/2024/*.parquet").unwrap(),
            (Service::Azure, "sales".into(), "2024/*.parquet".into())
        );
        let e = split_url("az:///x").unwrap_err().to_string();
        assert!(e.contains("no container (az://container/path)"), "{e}");
    }

    #[test]
    fn an_address_for_another_service_is_refused_in_words() {
        let azure = StoreSettings::Azure(AzureConnection {
            account: "devstoreaccount1".into(),
            endpoint: Some("http://127.0.0.1:10000/devstoreaccount1".into()),
        });
        let e = azure
            .store_for("s3://b/x.parquet")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("start with az://"), "{e}");
        let (_, key) = azure.store_for("az://c/x.parquet").unwrap();
        assert_eq!(key, "x.parquet");
    }
}
