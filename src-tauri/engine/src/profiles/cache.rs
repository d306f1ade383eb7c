//! Profiles kept per table version (a version never changes, so neither does its profile), and
//! the profile being computed per table: asking for a newer version cancels the older one,
//! which would only be thrown away.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::Profile;
use crate::ids::NotebookId;

/// Profiles kept; each is a few KB.
const KEPT: usize = 32;

type Key = (NotebookId, String);

#[derive(Default)]
pub struct ProfileCache {
    done: Mutex<VecDeque<(Key, u64, Arc<Profile>)>>,
    running: Mutex<HashMap<Key, (u64, CancellationToken)>>,
}

impl ProfileCache {
    pub fn get(&self, notebook: NotebookId, table: &str, version: u64) -> Option<Arc<Profile>> {
        let done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        done.iter()
            .find(|(k, v, _)| k.0 == notebook && k.1 == table && *v == version)
            .map(|(_, _, p)| p.clone())
    }

    pub fn put(&self, notebook: NotebookId, table: &str, version: u64, profile: Arc<Profile>) {
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        done.retain(|(k, v, _)| !(k.0 == notebook && k.1 == table && *v == version));
        done.push_back(((notebook, table.to_string()), version, profile));
        while done.len() > KEPT {
            done.pop_front();
        }
    }

    /// The token a profile of `version` runs under. An older version's profile still running
    /// is cancelled; a newer one's makes this one stale from the start.
    pub fn start(&self, notebook: NotebookId, table: &str, version: u64) -> CancellationToken {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let key = (notebook, table.to_string());
        let token = CancellationToken::new();
        match running.get(&key) {
            Some((v, _)) if *v > version => token.cancel(),
            Some((v, old)) if *v == version => return old.clone(),
            Some((_, old)) => {
                old.cancel();
                running.insert(key, (version, token.clone()));
            }
            None => {
                running.insert(key, (version, token.clone()));
            }
        }
        token
    }

    pub fn finish(&self, notebook: NotebookId, table: &str, version: u64) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let key = (notebook, table.to_string());
        if running.get(&key).is_some_and(|(v, _)| *v == version) {
            running.remove(&key);
        }
    }

    /// Forgets a table's profiles (deleted, renamed).
    pub fn forget(&self, notebook: NotebookId, table: &str) {
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        done.retain(|(k, _, _)| !(k.0 == notebook && k.1 == table));
    }
}
