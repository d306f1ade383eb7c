//! A simulated disk that loses what was not synced (in the manner of the ALICE and CrashMonkey
//! studies): the engine's durable steps under a folder are recorded through
//! [`crate::durable::trace`], then replayed into every state a power cut could leave at every
//! instant, each materialised as a real folder for the real recovery code to open.
//!
//! What the model keeps after a cut at instant k (the steps before k):
//! - a file's content only as of its last `Sync` (a file never synced is empty);
//! - a folder's entries (creations, renames, removals in it) as of its last `SyncDir`, plus any
//!   prefix of the entry changes made in it since, independently per folder (metadata reaches
//!   the disk in order within a folder, as ext4's journal commits it; reorderings across
//!   folders are explored);
//! - a folder whose own creation was not made durable is gone with everything in it;
//! - a SQLite database (the task store: journal and drafts) as of its last synced commit, or
//!   of any later commit (its WAL keeps a prefix), its `-wal` and `-shm` files gone.
//!
//! Folders and files that existed when recording began are durable.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::durable::trace::Step;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    File(u64),
    Dir,
}

/// One change to a folder's entries.
#[derive(Debug, Clone)]
enum EntryChange {
    Add(String, Node),
    Remove(String),
}

/// The recorded run: the folder as it was, and the steps after.
pub struct Trace {
    root: PathBuf,
    initial: Vec<(PathBuf, Option<Vec<u8>>)>,
    steps: Vec<Step>,
}

impl Trace {
    /// Reads `root` as it is now (the durable start) and starts recording under it.
    pub fn begin(root: &Path) -> std::io::Result<Trace> {
        let root = root.canonicalize()?;
        let mut initial = Vec::new();
        walk(&root, &root, &mut initial)?;
        crate::durable::trace::watch(&root);
        Ok(Trace {
            root,
            initial,
            steps: Vec::new(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Marks what was done so far as acknowledged to the user.
    pub fn ack(&self, label: impl Into<String>) {
        crate::durable::trace::ack(&self.root, label);
    }

    /// Stops recording; the trace is complete.
    pub fn end(&mut self) {
        self.steps = crate::durable::trace::stop(&self.root);
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Option<Vec<u8>>)>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let rel = path.strip_prefix(root).expect("under root").to_path_buf();
        if e.file_type()?.is_dir() {
            out.push((rel, None));
            walk(root, &path, out)?;
        } else {
            out.push((rel, Some(std::fs::read(&path)?)));
        }
    }
    Ok(())
}

/// One state a power cut can leave: after `at` steps, with `acked` the acknowledgements made
/// before the cut.
pub struct CrashState {
    pub at: usize,
    pub acked: Vec<String>,
    files: BTreeMap<PathBuf, Vec<u8>>,
    dirs: Vec<PathBuf>,
}

impl CrashState {
    /// Writes this state into `dir` (empty), as the disk would show it after the cut.
    pub fn materialise(&self, dir: &Path) -> std::io::Result<()> {
        for d in &self.dirs {
            std::fs::create_dir_all(dir.join(d))?;
        }
        for (path, bytes) in &self.files {
            std::fs::write(dir.join(path), bytes)?;
        }
        Ok(())
    }

    /// A key that is equal for states that show the same files.
    pub fn key(&self) -> blake3::Hash {
        let mut h = blake3::Hasher::new();
        for d in &self.dirs {
            h.update(d.to_string_lossy().as_bytes());
            h.update(b"/\0");
        }
        for (p, b) in &self.files {
            h.update(p.to_string_lossy().as_bytes());
            h.update(b"\0");
            h.update(blake3::hash(b).as_bytes());
        }
        h.finalize()
    }
}

/// The model's view after a prefix of the steps.
#[derive(Clone, Default)]
struct Model {
    /// Entries as the process saw them, per folder (relative; "" is the root).
    live: BTreeMap<PathBuf, BTreeMap<String, Node>>,
    /// Entries as of each folder's last sync.
    synced: BTreeMap<PathBuf, BTreeMap<String, Node>>,
    /// Entry changes since each folder's last sync, in order.
    pending: BTreeMap<PathBuf, Vec<EntryChange>>,
    /// Synced content per file.
    content: HashMap<u64, Vec<u8>>,
    next_inode: u64,
    /// Per database: its commits so far, and how many of them are surely durable.
    databases: BTreeMap<PathBuf, (Vec<Vec<u8>>, usize)>,
}

fn split(rel: &Path) -> (PathBuf, String) {
    let parent = rel.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (parent, name)
}

impl Model {
    fn start(initial: &[(PathBuf, Option<Vec<u8>>)]) -> Model {
        let mut m = Model::default();
        m.live.insert(PathBuf::new(), BTreeMap::new());
        for (rel, content) in initial {
            let node = match content {
                None => {
                    m.live.insert(rel.clone(), BTreeMap::new());
                    Node::Dir
                }
                Some(bytes) => {
                    m.next_inode += 1;
                    m.content.insert(m.next_inode, bytes.clone());
                    Node::File(m.next_inode)
                }
            };
            let (parent, name) = split(rel);
            m.live.entry(parent).or_default().insert(name, node);
        }
        m.synced = m.live.clone();
        m
    }

    fn change(&mut self, dir: PathBuf, change: EntryChange) {
        let entries = self.live.entry(dir.clone()).or_default();
        match &change {
            EntryChange::Add(name, node) => {
                entries.insert(name.clone(), node.clone());
            }
            EntryChange::Remove(name) => {
                entries.remove(name);
            }
        }
        self.pending.entry(dir).or_default().push(change);
    }

    fn apply(&mut self, root: &Path, step: &Step) {
        let rel = |p: &Path| p.strip_prefix(root).map(Path::to_path_buf).ok();
        match step {
            Step::Create(p) => {
                if let Some(r) = rel(p) {
                    self.next_inode += 1;
                    let (dir, name) = split(&r);
                    self.change(dir, EntryChange::Add(name, Node::File(self.next_inode)));
                }
            }
            Step::CreateDir(p) => {
                if let Some(r) = rel(p) {
                    self.live.insert(r.clone(), BTreeMap::new());
                    self.synced.insert(r.clone(), BTreeMap::new());
                    let (dir, name) = split(&r);
                    self.change(dir, EntryChange::Add(name, Node::Dir));
                }
            }
            Step::Sync { path, bytes } => {
                if let Some(r) = rel(path) {
                    let (dir, name) = split(&r);
                    if let Some(Node::File(inode)) = self.live.get(&dir).and_then(|e| e.get(&name))
                    {
                        self.content.insert(*inode, bytes.clone());
                    }
                }
            }
            Step::Rename { from, to } => {
                if let (Some(f), Some(t)) = (rel(from), rel(to)) {
                    let (fdir, fname) = split(&f);
                    let (tdir, tname) = split(&t);
                    if let Some(node) = self.live.get(&fdir).and_then(|e| e.get(&fname)).cloned() {
                        self.change(tdir, EntryChange::Add(tname, node));
                        self.change(fdir, EntryChange::Remove(fname));
                    }
                }
            }
            Step::Remove(p) => {
                if let Some(r) = rel(p) {
                    let (dir, name) = split(&r);
                    self.change(dir, EntryChange::Remove(name));
                }
            }
            Step::SyncDir(p) => {
                if let Some(r) = rel(p) {
                    let live = self.live.get(&r).cloned().unwrap_or_default();
                    self.synced.insert(r.clone(), live);
                    self.pending.remove(&r);
                }
            }
            Step::Database {
                path,
                bytes,
                synced,
            } => {
                if let Some(r) = rel(path) {
                    let (commits, durable) = self.databases.entry(r).or_default();
                    commits.push(bytes.clone());
                    if *synced {
                        *durable = commits.len();
                    }
                }
            }
            Step::Ack(_) => {}
        }
    }

    /// The choices a cut has for the databases: each keeps its durable commits, then either
    /// no more (the first choice, all databases) or up to one of its later commits.
    fn database_choices(&self) -> Vec<BTreeMap<PathBuf, usize>> {
        let durable: BTreeMap<PathBuf, usize> = self
            .databases
            .iter()
            .map(|(p, (_, d))| (p.clone(), *d))
            .collect();
        let mut out = vec![durable.clone()];
        for (path, (commits, d)) in &self.databases {
            for kept in d + 1..=commits.len() {
                let mut c = durable.clone();
                c.insert(path.clone(), kept);
                out.push(c);
            }
        }
        out
    }

    /// Puts each database as of its `kept` commits into a cut's files (none kept: as it was).
    fn with_databases(
        &self,
        files: &mut BTreeMap<PathBuf, Vec<u8>>,
        kept: &BTreeMap<PathBuf, usize>,
    ) {
        for (path, (commits, _)) in &self.databases {
            let Some(bytes) = kept
                .get(path)
                .and_then(|&k| k.checked_sub(1))
                .map(|i| &commits[i])
            else {
                continue;
            };
            files.insert(path.clone(), bytes.clone());
            for side in ["-wal", "-shm", "-journal"] {
                let mut name = path.as_os_str().to_owned();
                name.push(side);
                files.remove(&PathBuf::from(name));
            }
        }
    }

    /// The disk after a cut, keeping `keep[dir]` of each folder's pending changes.
    fn cut(&self, keep: &BTreeMap<PathBuf, usize>) -> (BTreeMap<PathBuf, Vec<u8>>, Vec<PathBuf>) {
        let mut entries = self.synced.clone();
        for (dir, changes) in &self.pending {
            let e = entries.entry(dir.clone()).or_default();
            for c in changes.iter().take(keep.get(dir).copied().unwrap_or(0)) {
                match c {
                    EntryChange::Add(name, node) => {
                        e.insert(name.clone(), node.clone());
                    }
                    EntryChange::Remove(name) => {
                        e.remove(name);
                    }
                }
            }
        }
        let (mut files, mut dirs) = (BTreeMap::new(), Vec::new());
        let mut stack = vec![PathBuf::new()];
        while let Some(dir) = stack.pop() {
            for (name, node) in entries.get(&dir).into_iter().flatten() {
                let path = dir.join(name);
                match node {
                    Node::Dir => {
                        dirs.push(path.clone());
                        stack.push(path);
                    }
                    Node::File(inode) => {
                        files.insert(path, self.content.get(inode).cloned().unwrap_or_default());
                    }
                }
            }
        }
        dirs.sort();
        (files, dirs)
    }
}

/// Every crash state of the trace: at each instant, the durable state alone, everything the
/// process did, and each prefix of each folder's unsynced changes (the other folders with
/// none, then with all of theirs).
pub fn crash_states(trace: &Trace) -> Vec<CrashState> {
    let mut model = Model::start(&trace.initial);
    let mut acked: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for at in 0..=trace.steps.len() {
        if at > 0 {
            match &trace.steps[at - 1] {
                // The instant right after an acknowledgement is a state of its own: the next
                // step may make something durable at once (a synced database commit).
                Step::Ack(label) => acked.push(label.clone()),
                step => model.apply(&trace.root, step),
            }
        }
        let lens: BTreeMap<PathBuf, usize> = model
            .pending
            .iter()
            .map(|(d, c)| (d.clone(), c.len()))
            .collect();
        let mut choices: Vec<BTreeMap<PathBuf, usize>> = vec![BTreeMap::new(), lens.clone()];
        for (dir, &len) in &lens {
            for keep in 1..len {
                for others_all in [false, true] {
                    let mut k: BTreeMap<PathBuf, usize> = if others_all {
                        lens.clone()
                    } else {
                        BTreeMap::new()
                    };
                    k.insert(dir.clone(), keep);
                    choices.push(k);
                }
            }
        }
        let databases = model.database_choices();
        for keep in &choices {
            let (files, dirs) = model.cut(keep);
            // Every folder choice with every choice of the databases' unsynced commits.
            for db in &databases {
                let mut files = files.clone();
                model.with_databases(&mut files, db);
                out.push(CrashState {
                    at,
                    acked: acked.clone(),
                    files,
                    dirs: dirs.clone(),
                });
            }
        }
    }
    out
}

pub mod faults;
pub mod linked_edits;
pub mod scenarios;
#[cfg(test)]
mod tests;
pub mod whole_engine;
