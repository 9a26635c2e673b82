//! Asynchronous file-system access, like `tokio::fs`: [`File`], [`OpenOptions`],
//! [`ReadDir`]/[`DirEntry`], [`DirBuilder`], and one async function per `std::fs` function
//! ([`read()`], [`write()`], [`read_dir()`], [`rename()`], ...).
//!
//! Operating systems offer no readiness notifications for regular files, so every call
//! blocks. All of them go through one internal function (`spawn_blocking` in this module), so
//! where the calls run is decided in a single place. On a worker of a multi-thread runtime the
//! call runs inline, the way Go's runtime makes a system call: in a syscall section
//! ([`enter_syscall`](netpoll_runtime::task::enter_syscall)), whose worker queue sysmon hands
//! to another thread if the call blocks past `Builder::syscall_handoff_threshold` (20 µs) —
//! no thread switch for the common short call. Anywhere else (a current-thread runtime, the
//! `block_on` future, outside a task) it runs on the blocking pool, as in tokio. A [`File`]
//! reads and writes at most 64 KiB per inline call, so one call does not
//! hold a worker for long.
//!
//! ```
//! use netpoll_io::fs;
//!
//! let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let path = std::env::temp_dir().join(format!("netpoll-fs-doc-{}", std::process::id()));
//!     fs::write(&path, "hello").await.unwrap();
//!     assert_eq!(fs::read_to_string(&path).await.unwrap(), "hello");
//!     assert_eq!(fs::metadata(&path).await.unwrap().len(), 5);
//!     fs::remove_file(&path).await.unwrap();
//! });
//! ```

use std::fs::{Metadata, Permissions};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use netpoll_runtime::task::{JoinError, JoinHandle};

mod dir_builder;
mod file;
mod file_times;
mod open_options;
mod read_dir;

pub use dir_builder::DirBuilder;
pub use file::File;
pub use file_times::FileTimes;
pub use open_options::OpenOptions;
pub use read_dir::{read_dir, DirEntry, ReadDir};

/// The most bytes one [`File`] read or write moves in one inline call (a syscall section on a
/// worker); on the blocking pool the buffer size (`File::set_max_buf_size`) applies.
const INLINE_MAX_BUF: usize = 64 * 1024;

/// Whether the next [`spawn_blocking`] runs its call inline (in a syscall section).
fn runs_inline() -> bool {
    netpoll_runtime::task::can_enter_syscall()
}

/// The most bytes a [`File`] read or write started now moves: `max` (its buffer size) on the
/// blocking pool, at most [`INLINE_MAX_BUF`] inline.
fn chunk(max: usize) -> usize {
    if runs_inline() {
        max.min(INLINE_MAX_BUF)
    } else {
        max
    }
}

/// A blocking call started by [`spawn_blocking`]: already done (it ran inline), or on the
/// blocking pool.
enum Blocking<T> {
    /// Ran inline; the result until it is taken.
    Done(Option<T>),
    Pool(JoinHandle<T>),
}

// The result is moved out, never pinned; `JoinHandle` is `Unpin`.
impl<T> Unpin for Blocking<T> {}

impl<T> Future for Blocking<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Blocking::Done(res) => match res.take() {
                Some(v) => Poll::Ready(Ok(v)),
                None => panic!("a blocking file call's result was taken twice"),
            },
            Blocking::Pool(handle) => Pin::new(handle).poll(cx),
        }
    }
}

/// Starts the blocking call `f`. **Every** blocking file-system call of this module goes
/// through here (directly, or through [`asyncify`]): on a worker of a multi-thread runtime,
/// inside a task, `f` runs now, inline, in a syscall section (see the module doc; a panic in
/// `f` then unwinds into the calling task); elsewhere it goes to the blocking pool.
fn spawn_blocking<F, T>(f: F) -> Blocking<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if runs_inline() {
        Blocking::Done(Some(netpoll_runtime::task::enter_syscall(f)))
    } else {
        Blocking::Pool(netpoll_runtime::spawn_blocking(f))
    }
}

/// Runs the blocking call `f` through [`spawn_blocking`] and waits for its result; a task
/// that panicked or was cancelled becomes an `io::Error`.
async fn asyncify<F, T>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match spawn_blocking(f).await {
        Ok(res) => res,
        Err(e) => Err(e.into()),
    }
}

/// Reads a whole file into a `Vec`, like `tokio::fs::read` (`std::fs::read` on the blocking
/// pool).
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read(path)).await
}

/// Reads a whole file as UTF-8 (`InvalidData` if it is not), like `tokio::fs::read_to_string`.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_to_string(path)).await
}

/// Creates or truncates a file and writes `contents` to it, like `tokio::fs::write`.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    asyncify(move || std::fs::write(path, contents)).await
}

/// Removes a file (not a directory), like `tokio::fs::remove_file`.
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_file(path)).await
}

/// Removes an empty directory, like `tokio::fs::remove_dir`.
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir(path)).await
}

/// Removes a directory and everything in it (symbolic links are removed, not followed), like
/// `tokio::fs::remove_dir_all`.
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir_all(path)).await
}

/// A path's metadata, following symbolic links, like `tokio::fs::metadata`.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::metadata(path)).await
}

/// A path's metadata without following a final symbolic link, like
/// `tokio::fs::symlink_metadata`.
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::symlink_metadata(path)).await
}

/// Creates one directory (its parent must exist; `AlreadyExists` if it does), like
/// `tokio::fs::create_dir`.
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir(path)).await
}

/// Creates a directory and its missing parents (no error if it exists), like
/// `tokio::fs::create_dir_all`.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir_all(path)).await
}

/// Renames a file or directory, replacing `to` if it exists (where the OS allows), like
/// `tokio::fs::rename`.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::rename(from, to)).await
}

/// Copies the contents and permission bits of `from` to `to` (created or truncated); returns
/// the number of bytes copied. Like `tokio::fs::copy`.
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> Result<u64, io::Error> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::copy(from, to)).await
}

/// Creates a hard link `link` to the file `original`, like `tokio::fs::hard_link`.
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    asyncify(move || std::fs::hard_link(original, link)).await
}

/// Creates a symbolic link `link` pointing to `original`, like `tokio::fs::symlink` (unix).
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    asyncify(move || std::os::unix::fs::symlink(original, link)).await
}

/// The target of a symbolic link, like `tokio::fs::read_link`.
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_link(path)).await
}

/// The absolute path with every `.`, `..` and symbolic link resolved, like
/// `tokio::fs::canonicalize`.
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::canonicalize(path)).await
}

/// Changes a path's permissions, like `tokio::fs::set_permissions`.
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::set_permissions(path, perm)).await
}

/// `Ok(true)` if the path exists (following symbolic links), `Ok(false)` if it does not (a
/// broken symbolic link included), and an error if that cannot be determined (permission
/// denied on a parent, say). Like `tokio::fs::try_exists`.
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    let path = path.as_ref().to_owned();
    asyncify(move || path.try_exists()).await
}
