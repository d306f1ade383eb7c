//! One object copied into a local file, streamed, with progress and cancel: how a CSV or JSON
//! object reaches the conversion that turns it into Parquet parts in the notebook (a text file
//! cannot be paged by row position where it lies, as Parquet can).

use std::io::Write;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStoreExt;
use tokio_util::sync::CancellationToken;

use super::{io, RemoteError, StoreSettings};

/// Why a download stopped.
#[derive(Debug)]
pub enum Stopped {
    Remote(RemoteError),
    /// Writing the local file failed.
    File(PathBuf, std::io::Error),
    Cancelled,
}

/// Copies the object at `url` (one object: no prefix, no glob) into `folder`, under the
/// object's own name (its extension tells the format), and returns that file. The file's
/// modification time is the object's, so a conversion planned on it is the same plan when the
/// same object is fetched again (a resumed conversion keeps its parts). `progress` gets the
/// bytes so far and the object's size.
pub fn download(
    settings: &StoreSettings,
    url: &str,
    folder: &Path,
    progress: &dyn Fn(u64, u64),
    cancel: &CancellationToken,
) -> Result<PathBuf, Stopped> {
    let (bucket, key) = settings.store_for(url).map_err(Stopped::Remote)?;
    let name = key
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            Stopped::Remote(RemoteError::Invalid {
                what: format!("the address {url}"),
                why: "it names a folder; name one object".into(),
            })
        })?
        .to_string();
    // Only the name's own characters go into the local path (a key may hold `\`, `:` or `..`,
    // which mean something on Windows); its ending, which tells the format, stays.
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = format!("_{}", name.trim_start_matches('.'));
    let location = ObjectPath::parse(&key).map_err(|e| {
        Stopped::Remote(RemoteError::Invalid {
            what: format!("the address {url}"),
            why: e.to_string(),
        })
    })?;
    let failed = |e: object_store::Error| {
        Stopped::Remote(RemoteError::from_store(&bucket.endpoint, url, &e))
    };
    let answer = io::wait(async {
        tokio::select! {
            got = bucket.store.get(&location) => Some(got),
            () = cancel.cancelled() => None,
        }
    })
    .ok_or(Stopped::Cancelled)?
    .map_err(failed)?;
    let (size, modified) = (answer.meta.size, answer.meta.last_modified);
    let mut stream = answer.into_stream();
    std::fs::create_dir_all(folder).map_err(|e| Stopped::File(folder.to_path_buf(), e))?;
    let path = folder.join(&name);
    let file_error = |e: std::io::Error| Stopped::File(path.clone(), e);
    let file = std::fs::File::create(&path).map_err(file_error)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, &file);
    let mut got = 0u64;
    progress(0, size);
    loop {
        let next = io::wait(async {
            tokio::select! {
                chunk = stream.next() => Some(chunk),
                () = cancel.cancelled() => None,
            }
        })
        .ok_or(Stopped::Cancelled)?;
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(failed)?;
        out.write_all(&chunk).map_err(file_error)?;
        got += chunk.len() as u64;
        progress(got, size);
    }
    out.flush().map_err(file_error)?;
    drop(out);
    if got != size {
        // The server closed the body early: a cut file would convert into a table missing rows.
        return Err(Stopped::Remote(RemoteError::Unreachable {
            endpoint: bucket.endpoint.clone(),
            detail: format!("it sent {got} of the object's {size} bytes and stopped"),
        }));
    }
    // Not synced: the file is scratch, fetched again whenever the conversion runs again.
    file.set_modified(modified.into()).map_err(file_error)?;
    Ok(path)
}
