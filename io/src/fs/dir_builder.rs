//! [`DirBuilder`]: `std::fs::DirBuilder` with an async `create`.

use std::io;
use std::path::Path;

use super::asyncify;

/// Creates directories with options, like `tokio::fs::DirBuilder`.
///
/// ```
/// use netpoll_io::fs::DirBuilder;
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let root = std::env::temp_dir().join(format!("netpoll-dirbuilder-doc-{}", std::process::id()));
///     DirBuilder::new().recursive(true).create(root.join("a/b")).await.unwrap();
///     assert!(netpoll_io::fs::metadata(root.join("a/b")).await.unwrap().is_dir());
///     netpoll_io::fs::remove_dir_all(&root).await.unwrap();
/// });
/// ```
#[derive(Debug, Default)]
pub struct DirBuilder {
    recursive: bool,
    mode: Option<u32>,
}

impl DirBuilder {
    /// A builder that creates one directory (not its parents) with the default mode (0o777
    /// before the umask).
    pub fn new() -> Self {
        DirBuilder::default()
    }

    /// Whether to create missing parents too (then an existing directory is no error).
    pub fn recursive(&mut self, recursive: bool) -> &mut Self {
        self.recursive = recursive;
        self
    }

    /// The permission bits of created directories (before the umask).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = Some(mode);
        self
    }

    /// Creates `path` with these options, on the blocking pool.
    pub async fn create(&self, path: impl AsRef<Path>) -> io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        let path = path.as_ref().to_owned();
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(self.recursive);
        if let Some(mode) = self.mode {
            builder.mode(mode);
        }
        asyncify(move || builder.create(path)).await
    }
}
