//! `netpoll::fs` against tokio's documented behaviour: whole-file helpers, directories and
//! their listing, links, errors with the right `io::ErrorKind`, `File`'s methods (set_len and
//! seek, sync, times, clone, std conversions) and `OpenOptions`/`DirBuilder` unix modes.
mod support;

use std::collections::BTreeSet;
use std::io::{ErrorKind, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use netpoll::fs::{self, DirBuilder, File, FileTimes, OpenOptions};
use netpoll::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use support::{bounded, rt};

const LIMIT: Duration = Duration::from_secs(30);

/// A fresh empty directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("netpoll-fs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run<F: std::future::Future<Output = ()> + Send + 'static>(f: F) {
    bounded(LIMIT, move || rt(2).block_on(f));
}

#[test]
fn whole_file_round_trips_and_copy() {
    let dir = TempDir::new("roundtrip");
    let (a, b) = (dir.join("a"), dir.join("b"));
    run(async move {
        fs::write(&a, b"hello world").await.unwrap();
        assert_eq!(fs::read(&a).await.unwrap(), b"hello world");
        assert_eq!(fs::read_to_string(&a).await.unwrap(), "hello world");
        fs::set_permissions(&a, std::fs::Permissions::from_mode(0o640))
            .await
            .unwrap();
        assert_eq!(fs::copy(&a, &b).await.unwrap(), 11);
        assert_eq!(fs::read(&b).await.unwrap(), b"hello world");
        // `copy` copies the permission bits too.
        let mode = fs::metadata(&b).await.unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
        fs::write(&a, [0xffu8, 0xfe]).await.unwrap();
        let err = fs::read_to_string(&a).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        fs::rename(&a, &b).await.unwrap();
        assert_eq!(fs::read(&b).await.unwrap(), [0xff, 0xfe]);
        assert!(!fs::try_exists(&a).await.unwrap());
        assert!(fs::try_exists(&b).await.unwrap());
        fs::remove_file(&b).await.unwrap();
        assert_eq!(
            fs::remove_file(&b).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    });
    drop(dir);
}

#[test]
fn errors_map_to_their_kinds() {
    let dir = TempDir::new("errors");
    let root = dir.0.clone();
    run(async move {
        let missing = root.join("missing");
        assert_eq!(
            fs::read(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            File::open(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            fs::metadata(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            fs::read_dir(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            fs::remove_dir(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            fs::canonicalize(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );

        let f = root.join("f");
        fs::write(&f, "x").await.unwrap();
        assert_eq!(
            File::create_new(&f).await.unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        let err = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&f)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        let d = root.join("d");
        fs::create_dir(&d).await.unwrap();
        assert_eq!(
            fs::create_dir(&d).await.unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        // create_dir_all of an existing directory is fine.
        fs::create_dir_all(&d).await.unwrap();
        assert_eq!(
            fs::hard_link(&f, &f).await.unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            fs::symlink(&f, &f).await.unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
    });
    drop(dir);
}

#[test]
fn directories_listing_and_links() {
    let dir = TempDir::new("dirs");
    let root = dir.0.clone();
    run(async move {
        DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(root.join("a/b/c"))
            .await
            .unwrap();
        let mode = fs::metadata(root.join("a/b/c"))
            .await
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o750 & !umask());
        // Not recursive: the parent must exist.
        let err = DirBuilder::new()
            .create(root.join("x/y"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);

        // More entries than one chunk of the listing.
        let mut want = BTreeSet::new();
        for i in 0..100 {
            let name = format!("file{i:03}");
            fs::write(root.join(&name), &name).await.unwrap();
            want.insert(name);
        }
        want.insert("a".to_string());
        fs::symlink("file000", root.join("link")).await.unwrap();
        want.insert("link".to_string());
        fs::hard_link(root.join("file001"), root.join("hard"))
            .await
            .unwrap();
        want.insert("hard".to_string());

        let mut got = BTreeSet::new();
        let mut entries = fs::read_dir(&root).await.unwrap();
        while let Some(e) = entries.next_entry().await.unwrap() {
            let name = e.file_name().into_string().unwrap();
            assert_eq!(e.path(), root.join(&name));
            let ft = e.file_type().await.unwrap();
            let meta = e.metadata().await.unwrap();
            match name.as_str() {
                "a" => assert!(ft.is_dir() && meta.is_dir()),
                // Not followed.
                "link" => assert!(ft.is_symlink() && meta.file_type().is_symlink()),
                _ => assert!(ft.is_file() && meta.len() > 0),
            }
            assert_eq!(e.ino(), std::os::unix::fs::MetadataExt::ino(&meta));
            assert!(got.insert(name));
        }
        assert_eq!(got, want);
        // Exhausted: stays exhausted.
        assert!(entries.next_entry().await.unwrap().is_none());

        let link = root.join("link");
        assert_eq!(
            fs::read_link(&link).await.unwrap(),
            PathBuf::from("file000")
        );
        assert!(fs::symlink_metadata(&link)
            .await
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::metadata(&link).await.unwrap().is_file());
        assert_eq!(
            fs::canonicalize(&link).await.unwrap(),
            std::fs::canonicalize(&root).unwrap().join("file000")
        );
        assert_eq!(fs::read(root.join("hard")).await.unwrap(), b"file001");
        // A broken link does not "exist".
        fs::remove_file(root.join("file000")).await.unwrap();
        assert!(!fs::try_exists(&link).await.unwrap());

        let err = fs::remove_dir(root.join("a")).await.unwrap_err();
        assert_ne!(
            err.kind(),
            ErrorKind::NotFound,
            "a non-empty directory stays"
        );
        fs::remove_dir(root.join("a/b/c")).await.unwrap();
        fs::remove_dir_all(root.join("a")).await.unwrap();
        assert!(!fs::try_exists(root.join("a")).await.unwrap());
    });
    drop(dir);
}

fn umask() -> u32 {
    // SAFETY: umask(2) cannot fail; it is set back at once.
    let old = unsafe { libc::umask(0o022) };
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    old as u32
}

#[test]
fn set_len_and_seek() {
    let dir = TempDir::new("setlen");
    let p = dir.join("f");
    run(async move {
        let mut f = File::create(&p).await.unwrap();
        f.write_all(b"0123456789").await.unwrap();
        // set_len waits for the write in flight and leaves the position alone.
        f.set_len(4).await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 4);
        assert_eq!(f.stream_position().await.unwrap(), 10);
        // Writing past the end leaves a zero-filled hole.
        f.write_all(b"AB").await.unwrap();
        f.flush().await.unwrap();
        assert_eq!(fs::read(&p).await.unwrap(), b"0123\0\0\0\0\0\0AB");
        f.set_len(20).await.unwrap();
        assert_eq!(f.seek(SeekFrom::End(0)).await.unwrap(), 20);
        f.sync_all().await.unwrap();
        f.sync_data().await.unwrap();
        drop(f);

        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&p)
            .await
            .unwrap();
        assert_eq!(f.seek(SeekFrom::Start(2)).await.unwrap(), 2);
        let mut two = [0u8; 2];
        f.read_exact(&mut two).await.unwrap();
        assert_eq!(&two, b"23");
        // Shrinking below the position: reads then see the end of the file.
        f.set_len(3).await.unwrap();
        let mut rest = Vec::new();
        f.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        assert_eq!(f.seek(SeekFrom::Current(-1)).await.unwrap(), 3);
        f.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        f.seek(SeekFrom::Start(0)).await.unwrap();
        f.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"012");

        // A file opened read-only cannot be resized.
        let r = File::open(&p).await.unwrap();
        assert!(r.set_len(0).await.is_err());
    });
    drop(dir);
}

#[test]
fn file_conversions_clone_times_and_modes() {
    let dir = TempDir::new("file");
    let p = dir.join("f");
    run(async move {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&p)
            .await
            .unwrap();
        assert_eq!(
            f.metadata().await.unwrap().permissions().mode() & 0o777,
            0o600
        );
        f.set_max_buf_size(3);
        assert_eq!(f.max_buf_size(), 3);
        f.write_all(b"abcdefgh").await.unwrap();
        f.flush().await.unwrap();

        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        f.set_times(FileTimes::new().set_accessed(t).set_modified(t))
            .await
            .unwrap();
        let m = f.metadata().await.unwrap();
        assert_eq!(m.modified().unwrap(), t);
        assert_eq!(m.accessed().unwrap(), t);
        let t2 = t + Duration::from_secs(60);
        f.set_modified(t2).await.unwrap();
        assert_eq!(fs::metadata(&p).await.unwrap().modified().unwrap(), t2);
        f.set_permissions(std::fs::Permissions::from_mode(0o644))
            .await
            .unwrap();
        assert_eq!(
            fs::metadata(&p).await.unwrap().permissions().mode() & 0o777,
            0o644
        );

        // A clone shares the offset.
        let mut c = f.try_clone().await.unwrap();
        c.write_all(b"XY").await.unwrap();
        c.flush().await.unwrap();
        assert_eq!(fs::read(&p).await.unwrap(), b"abcdefghXY");

        let std = f.into_std().await;
        use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
        let from_owned = File::from(OwnedFd::from(std));
        let raw = from_owned.try_into_std().unwrap().into_raw_fd();
        // SAFETY: `raw` was just released by the std file above; nothing else owns it.
        let mut from_raw = unsafe { File::from_raw_fd(raw) };
        assert_eq!(from_raw.as_raw_fd(), raw);
        from_raw.write_all(b"Z").await.unwrap();
        from_raw.flush().await.unwrap();
        assert_eq!(fs::read(&p).await.unwrap(), b"abcdefghXYZ");
        drop(c);
    });
    drop(dir);
}

#[test]
fn types_are_send_sync_like_tokios() {
    fn check<T: Send + Sync + Unpin>() {}
    check::<File>();
    check::<OpenOptions>();
    check::<DirBuilder>();
    check::<FileTimes>();
    check::<fs::ReadDir>();
    check::<fs::DirEntry>();
}

/// `next_entry` is cancel safe: cancelling it at every pending point loses no entry and
/// yields none twice.
#[test]
fn read_dir_next_entry_is_cancel_safe() {
    let dir = TempDir::new("cancel");
    let root = dir.0.clone();
    run(async move {
        for i in 0..70 {
            fs::write(root.join(format!("f{i}")), "").await.unwrap();
        }
        let mut entries = fs::read_dir(&root).await.unwrap();
        let mut names = BTreeSet::new();
        let mut cancelled = 0;
        loop {
            match netpoll::time::timeout(Duration::ZERO, entries.next_entry()).await {
                Err(_elapsed) => cancelled += 1,
                Ok(Ok(Some(e))) => assert!(names.insert(e.file_name())),
                Ok(Ok(None)) => break,
                Ok(Err(e)) => panic!("{e}"),
            }
            netpoll::task::yield_now().await;
        }
        assert_eq!(names.len(), 70, "after {cancelled} cancellations");
        // poll_next_entry directly, at the end: stays at the end.
        let end = std::future::poll_fn(|cx| entries.poll_next_entry(cx)).await;
        assert!(end.unwrap().is_none());
    });
    drop(dir);
}
