//! [`read_dir`], [`ReadDir`] and [`DirEntry`]: a directory listing read in chunks on the
//! blocking pool.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::future::{poll_fn, Future};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::{asyncify, spawn_blocking, Blocking};

/// Entries read per trip to the blocking pool.
const CHUNK: usize = 32;

/// Opens a directory for listing, like `tokio::fs::read_dir`: the returned [`ReadDir`] yields
/// its entries (without `.` and `..`, in no particular order).
///
/// ```
/// use netpoll_io::fs;
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let dir = std::env::temp_dir().join(format!("netpoll-readdir-doc-{}", std::process::id()));
///     fs::create_dir_all(&dir).await.unwrap();
///     fs::write(dir.join("a"), "").await.unwrap();
///     let mut entries = fs::read_dir(&dir).await.unwrap();
///     let entry = entries.next_entry().await.unwrap().unwrap();
///     assert_eq!(entry.file_name(), "a");
///     assert!(entries.next_entry().await.unwrap().is_none());
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let std = asyncify(move || std::fs::read_dir(path)).await?;
    Ok(ReadDir(State::Idle(Some(Chunk {
        entries: VecDeque::new(),
        std,
        done: false,
    }))))
}

/// The entries of a directory, from [`read_dir`], like `tokio::fs::ReadDir`. Entries are read
/// from the OS a chunk at a time on the blocking pool. An I/O error while listing is yielded
/// as an `Err` item.
pub struct ReadDir(State);

enum State {
    /// `None` once a chunk's task was lost (the runtime shut down): the listing is over.
    Idle(Option<Chunk>),
    Pending(Blocking<Chunk>),
}

struct Chunk {
    entries: VecDeque<io::Result<DirEntry>>,
    std: std::fs::ReadDir,
    done: bool,
}

impl Chunk {
    /// Reads up to [`CHUNK`] entries. Blocks: for the blocking pool.
    fn fill(&mut self) {
        for _ in 0..CHUNK {
            match self.std.next() {
                Some(Ok(std)) => {
                    // Usually known from the listing itself (`d_type`), so asking costs no
                    // system call; where it does, this is the blocking pool anyway.
                    let file_type = std.file_type().ok();
                    self.entries.push_back(Ok(DirEntry {
                        std: Arc::new(std),
                        file_type,
                    }));
                }
                Some(Err(e)) => self.entries.push_back(Err(e)),
                None => {
                    self.done = true;
                    return;
                }
            }
        }
    }
}

impl ReadDir {
    /// The next entry, or `None` at the end of the directory.
    ///
    /// # Cancel safety
    /// Cancel safe: a chunk being read when the future is dropped is kept for the next call.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for the next entry: `Ready(Ok(Some(entry)))`, `Ready(Ok(None))` at the end,
    /// `Ready(Err(e))` on an I/O error, or `Pending` with `cx`'s waker (only the most recent
    /// call's) woken when the next chunk has been read.
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.0 {
                State::Idle(None) => return Poll::Ready(Ok(None)),
                State::Idle(Some(chunk)) => {
                    if let Some(entry) = chunk.entries.pop_front() {
                        return Poll::Ready(entry.map(Some));
                    }
                    if chunk.done {
                        return Poll::Ready(Ok(None));
                    }
                    let State::Idle(Some(mut chunk)) =
                        std::mem::replace(&mut self.0, State::Idle(None))
                    else {
                        unreachable!("matched above");
                    };
                    self.0 = State::Pending(spawn_blocking(move || {
                        chunk.fill();
                        chunk
                    }));
                }
                State::Pending(handle) => match ready!(Pin::new(handle).poll(cx)) {
                    Ok(chunk) => self.0 = State::Idle(Some(chunk)),
                    Err(e) => {
                        self.0 = State::Idle(None);
                        return Poll::Ready(Err(e.into()));
                    }
                },
            }
        }
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").finish_non_exhaustive()
    }
}

/// One entry of a [`ReadDir`], like `tokio::fs::DirEntry`.
pub struct DirEntry {
    std: Arc<std::fs::DirEntry>,
    file_type: Option<FileType>,
}

impl DirEntry {
    /// The full path: the path given to [`read_dir`] joined with [`file_name`](Self::file_name).
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The entry's name, without any leading path component.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's inode number (`d_ino`).
    pub fn ino(&self) -> u64 {
        std::os::unix::fs::DirEntryExt::ino(&*self.std)
    }

    /// The entry's metadata, not following a symbolic link (like `std::fs::DirEntry::metadata`).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || std.metadata()).await
    }

    /// The entry's file type, not following a symbolic link. Usually known from the listing
    /// already; otherwise asked for on the blocking pool.
    pub async fn file_type(&self) -> io::Result<FileType> {
        if let Some(t) = self.file_type {
            return Ok(t);
        }
        let std = self.std.clone();
        asyncify(move || std.file_type()).await
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path()).finish()
    }
}
