//! The node's root directory, and every file operation nodeprep does under it.
//!
//! `--root DIR` is a chroot, not a path prefix: every path is resolved as the node itself
//! would resolve it, so an absolute symlink or a `..` is taken relative to the root and can
//! never leave it. Where the kernel has `openat2(2)` (Linux 5.6 and later) every lookup is one
//! `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` from the root's descriptor: the kernel
//! itself keeps the walk inside. Where it has not (EL7's 3.10, EL8's 4.18, or a seccomp
//! profile that refuses it), libpathrs's userspace resolver does the same walk. No other
//! module touches a path under the root with `std::fs`.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result, anyhow, bail};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, Flock, FlockArg, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};
use pathrs::flags::OpenFlags;

/// The directories helper programs are looked up in (under the root), never the caller's PATH.
pub const TRUSTED_DIRS: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Longest symlink chain followed when writing through a link (the kernel's own limit).
const MAX_LINKS: usize = 40;

#[derive(Clone)]
pub struct Root {
    dir: PathBuf,
    /// libpathrs even where `openat2` works (tests compare the two resolvers).
    libpathrs: bool,
    tree: Arc<OnceLock<std::result::Result<Tree, String>>>,
    /// Whether the root shows the running kernel (decided once, see [`Root::is_image`]).
    live: Arc<OnceLock<bool>>,
    /// The caller's word (never the root's) that its `/proc` is the running kernel's even
    /// where it is not a procfs: tests' fixture roots (see `config::FAKE_PROC_ENV`).
    fake_proc: bool,
}

/// How paths under a root other than `/` are resolved (chosen once, when the root is opened).
enum Tree {
    /// `openat2(RESOLVE_IN_ROOT)` from this descriptor of the root directory (`O_PATH`).
    Kernel(OwnedFd),
    /// libpathrs, for kernels without `openat2`.
    Pathrs(pathrs::Root),
}

/// The kernel keeps the walk inside the root, and refuses `/proc/self/fd`-style magic links
/// (they could name anything on the host).
fn in_root() -> ResolveFlag {
    ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS
}

/// One `openat2` under `root`. `EAGAIN` (a rename or mount raced a `..` on the way) is
/// retried, as the kernel asks.
fn openat2_in(root: &OwnedFd, rel: &Path, flags: OFlag, mode: Mode) -> nix::Result<OwnedFd> {
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .mode(mode)
        .resolve(in_root());
    let mut tries = 0;
    loop {
        match nix::fcntl::openat2(root, rel, how) {
            Err(Errno::EAGAIN | Errno::EINTR) if tries < 64 => tries += 1,
            r => return r,
        }
    }
}

/// Whether this kernel (and any seccomp profile around nodeprep) allows `openat2`.
fn openat2_works(root: &OwnedFd) -> bool {
    !matches!(
        openat2_in(root, Path::new("."), OFlag::O_PATH, Mode::empty()),
        Err(Errno::ENOSYS | Errno::EPERM | Errno::EINVAL | Errno::E2BIG)
    )
}

impl PartialEq for Root {
    fn eq(&self, other: &Root) -> bool {
        self.dir == other.dir
    }
}
impl Eq for Root {}

impl fmt::Debug for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Root").field(&self.dir).finish()
    }
}

impl fmt::Display for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.dir.display())
    }
}

/// What a name is, without following a final symlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Missing,
    File {
        mode: u32,
    },
    Dir,
    Link(PathBuf),
    /// A FIFO, socket or device: never read.
    Special(&'static str),
}

/// What a rewritten file keeps of the one it replaces.
struct Kept {
    mode: u32,
    uid: u32,
    gid: u32,
    xattrs: Vec<(std::ffi::OsString, Vec<u8>)>,
}

impl Kept {
    /// The owner, group and extended attributes, given to the file that replaces it. One
    /// that cannot be kept is an error: the old file stays as it was.
    fn give_to(&self, f: &File) -> Result<()> {
        let st = nix::sys::stat::fstat(f.as_fd())?;
        if (st.st_uid, st.st_gid) != (self.uid, self.gid) {
            nix::unistd::fchown(
                f.as_fd(),
                Some(nix::unistd::Uid::from_raw(self.uid)),
                Some(nix::unistd::Gid::from_raw(self.gid)),
            )
            .with_context(|| format!("cannot keep its owner {}:{}", self.uid, self.gid))?;
        }
        for (name, value) in &self.xattrs {
            xattr::FileExt::set_xattr(f, name, value).with_context(|| {
                format!(
                    "cannot keep its extended attribute {}",
                    name.to_string_lossy()
                )
            })?;
        }
        Ok(())
    }
}

/// Where a write through a path ends up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The node path of the regular file (or the name to create) at the end of the chain.
    File(PathBuf),
    /// The path, or a link on the way, points to /dev/null: the admin masked it.
    Masked(PathBuf),
}

fn kind_name(st: &FileStat) -> &'static str {
    match SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT {
        SFlag::S_IFREG => "regular file",
        SFlag::S_IFDIR => "directory",
        SFlag::S_IFLNK => "symlink",
        SFlag::S_IFIFO => "FIFO",
        SFlag::S_IFSOCK => "socket",
        SFlag::S_IFCHR => "character device",
        SFlag::S_IFBLK => "block device",
        _ => "special file",
    }
}

fn is_kind(st: &FileStat, kind: SFlag) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == kind
}

fn errno_of(e: &pathrs::error::Error) -> Option<i32> {
    match e.kind() {
        pathrs::error::ErrorKind::OsError(n) => n,
        _ => None,
    }
}

fn is_absent(e: &pathrs::error::Error) -> bool {
    matches!(errno_of(e), Some(n) if n == Errno::ENOENT as i32 || n == Errno::ENOTDIR as i32)
}

fn io_error(e: pathrs::error::Error) -> io::Error {
    match errno_of(&e) {
        Some(n) => io::Error::from_raw_os_error(n),
        None => io::Error::other(e.to_string()),
    }
}

/// `/a/./b/` → `a/b`; `None` when a `..` is in it (callers resolve those through the tree).
fn relative(abs: &Path) -> PathBuf {
    abs.components()
        .filter(|c| !matches!(c, Component::RootDir | Component::CurDir))
        .collect()
}

impl Root {
    /// A relative directory is made absolute, so that paths under it mean the same thing to
    /// helper programs whatever their working directory. A path that resolves to `/` (`/.`,
    /// a symlink to `/`) is the host, and is spelled `/`. Nothing is opened yet.
    pub fn new(dir: impl Into<PathBuf>) -> Root {
        let dir: PathBuf = dir.into();
        let dir = if std::fs::canonicalize(&dir).is_ok_and(|p| p == Path::new("/")) {
            PathBuf::from("/")
        } else {
            std::path::absolute(&dir).unwrap_or(dir)
        };
        Root {
            dir,
            libpathrs: false,
            tree: Arc::new(OnceLock::new()),
            live: Arc::new(OnceLock::new()),
            fake_proc: false,
        }
    }

    /// The same root, whose `/proc` the caller vouches for (see [`Root::is_image`]).
    pub fn with_fake_proc(self, fake_proc: bool) -> Root {
        Root {
            fake_proc,
            live: Arc::new(OnceLock::new()),
            ..self
        }
    }

    /// The same root resolved by libpathrs, as on a kernel without `openat2`, even here.
    pub fn with_libpathrs(&self) -> Root {
        Root {
            dir: self.dir.clone(),
            libpathrs: true,
            tree: Arc::new(OnceLock::new()),
            live: self.live.clone(),
            fake_proc: self.fake_proc,
        }
    }

    /// Whether this is the running system's own `/`, where effects reach the real kernel.
    pub fn is_host(&self) -> bool {
        self.dir == Path::new("/")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where a node path lies on this machine, for messages only: never open it.
    pub fn show(&self, node: impl AsRef<Path>) -> String {
        self.dir.join(relative(node.as_ref())).display().to_string()
    }

    fn tree(&self) -> Result<&Tree> {
        let opened = self.tree.get_or_init(|| {
            let failed = |e: io::Error| {
                format!(
                    "cannot open the root directory {}: {e}; give --root the path of a node's /",
                    self.dir.display()
                )
            };
            let fd = nix::fcntl::open(
                &self.dir,
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| failed(e.into()))?;
            if !self.libpathrs && openat2_works(&fd) {
                return Ok(Tree::Kernel(fd));
            }
            pathrs::Root::open(&self.dir)
                .map(Tree::Pathrs)
                .map_err(|e| failed(io_error(e)))
        });
        opened.as_ref().map_err(|e| anyhow!("{e}"))
    }

    /// Which resolver this root uses: `openat2` or `libpathrs` (`host` for `/`).
    pub fn resolver(&self) -> Result<&'static str> {
        if self.is_host() {
            return Ok("host");
        }
        Ok(match self.tree()? {
            Tree::Kernel(_) => "openat2",
            Tree::Pathrs(_) => "libpathrs",
        })
    }

    /// Opens the root now, so that a bad `--root` is one clear error before anything else.
    pub fn open(&self) -> Result<()> {
        self.tree().map(|_| ())
    }

    /// An `O_PATH` descriptor for what `node` names (`follow`: through a final link), or
    /// `None` when it does not exist. Under `/` the kernel's own resolution is the node's, so
    /// it is used directly; under any other root, libpathrs's in-root resolution (which also
    /// checks, after each lookup, that the root was not moved).
    fn path_fd(&self, node: &Path, follow: bool) -> Result<Option<OwnedFd>> {
        let rel = relative(node);
        if self.is_host() {
            let nofollow = if follow {
                OFlag::empty()
            } else {
                OFlag::O_NOFOLLOW
            };
            return match nix::fcntl::open(
                &Path::new("/").join(&rel),
                OFlag::O_PATH | OFlag::O_CLOEXEC | nofollow,
                Mode::empty(),
            ) {
                Ok(fd) => Ok(Some(fd)),
                Err(Errno::ENOENT | Errno::ENOTDIR) => Ok(None),
                Err(e) => Err(anyhow!("cannot resolve {}: {e}", self.show(node))),
            };
        }
        let tree = match self.tree()? {
            Tree::Kernel(fd) => {
                let nofollow = if follow {
                    OFlag::empty()
                } else {
                    OFlag::O_NOFOLLOW
                };
                return match openat2_in(fd, &rel, OFlag::O_PATH | nofollow, Mode::empty()) {
                    Ok(fd) => Ok(Some(fd)),
                    Err(Errno::ENOENT | Errno::ENOTDIR) => Ok(None),
                    Err(e) => Err(anyhow!("cannot resolve {}: {e}", self.show(node))),
                };
            }
            Tree::Pathrs(tree) => tree,
        };
        let found = if follow {
            tree.resolve(&rel)
        } else {
            tree.resolve_nofollow(&rel)
        };
        match found {
            Ok(h) => Ok(Some(OwnedFd::from(h))),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(anyhow!(
                "cannot resolve {}: {}",
                self.show(node),
                io_error(e)
            )),
        }
    }

    /// The metadata of what `node` names, following symlinks inside the root.
    pub fn stat(&self, node: impl AsRef<Path>) -> Result<Option<FileStat>> {
        let node = node.as_ref();
        let Some(h) = self.path_fd(node, true)? else {
            return Ok(None);
        };
        let st = nix::sys::stat::fstat(h.as_fd())
            .with_context(|| format!("cannot stat {}", self.show(node)))?;
        Ok(Some(st))
    }

    /// What `node` names, without following a final symlink.
    pub fn entry(&self, node: impl AsRef<Path>) -> Result<Entry> {
        let node = node.as_ref();
        let Some(h) = self.path_fd(node, false)? else {
            return Ok(Entry::Missing);
        };
        let st = nix::sys::stat::fstat(h.as_fd())
            .with_context(|| format!("cannot stat {}", self.show(node)))?;
        Ok(if is_kind(&st, SFlag::S_IFLNK) {
            // the link itself, through the descriptor that names it
            let target = nix::fcntl::readlinkat(&h, "")
                .map(PathBuf::from)
                .with_context(|| format!("cannot read the link {}", self.show(node)))?;
            Entry::Link(target)
        } else if is_kind(&st, SFlag::S_IFREG) {
            Entry::File {
                mode: st.st_mode & 0o7777,
            }
        } else if is_kind(&st, SFlag::S_IFDIR) {
            Entry::Dir
        } else {
            Entry::Special(kind_name(&st))
        })
    }

    pub fn exists(&self, node: impl AsRef<Path>) -> bool {
        self.stat(node).is_ok_and(|s| s.is_some())
    }

    /// A regular file with an execute bit, after following links inside the root.
    pub fn is_executable(&self, node: impl AsRef<Path>) -> bool {
        self.stat(node)
            .ok()
            .flatten()
            .is_some_and(|st| is_kind(&st, SFlag::S_IFREG) && st.st_mode & 0o111 != 0)
    }

    /// Whether `node` is a symlink to /dev/null: systemd's way of masking a drop-in.
    pub fn is_masked(&self, node: impl AsRef<Path>) -> bool {
        matches!(self.entry(node), Ok(Entry::Link(t)) if t == Path::new("/dev/null"))
    }

    /// The whole content of a regular file, at most `limit` bytes; `None` when it does not
    /// exist. A FIFO, socket or device is an error, never a read that could hang.
    pub fn read(&self, node: impl AsRef<Path>, limit: u64) -> Result<Option<Vec<u8>>> {
        let node = node.as_ref();
        let Some((file, st)) = self.open_regular(node, OFlag::O_RDONLY)? else {
            return Ok(None);
        };
        // sized once from the file's length (0 for /proc files, which then grow as read)
        let size = u64::try_from(st.st_size).unwrap_or(0).min(limit);
        let mut b = Vec::with_capacity(usize::try_from(size).unwrap_or(0) + 1);
        file.take(limit.saturating_add(1))
            .read_to_end(&mut b)
            .with_context(|| format!("cannot read {}", self.show(node)))?;
        if b.len() as u64 > limit {
            return Err(too_large(&self.show(node), limit));
        }
        Ok(Some(b))
    }

    /// [`Root::read`] line by line: the regular file opened, then [`Lines::each`]. `None`
    /// when it does not exist.
    pub fn open_lines(&self, node: impl AsRef<Path>, limit: u64) -> Result<Option<Lines>> {
        let node = node.as_ref();
        let Some((file, _)) = self.open_regular(node, OFlag::O_RDONLY)? else {
            return Ok(None);
        };
        Ok(Some(Lines {
            file,
            limit,
            shown: self.show(node),
        }))
    }

    /// The one error for a FIFO, socket, device or directory where a file belongs.
    fn not_regular(&self, node: &Path, st: &FileStat) -> anyhow::Error {
        anyhow!(
            "{} is a {}, not a regular file; nodeprep reads only regular files there",
            self.show(node),
            kind_name(st)
        )
    }

    /// Opens the regular file `node` names, links followed inside the root, and never opens
    /// anything else (a FIFO, socket or device is an error). The fast way, one resolution
    /// and two syscalls: the parent is resolved in the root, the last name is checked with
    /// `fstatat` and opened relative to it (`O_NOFOLLOW`, `O_NONBLOCK`), then checked again.
    /// A last name that is a link goes through libpathrs's full resolution and a reopen.
    fn open_regular(&self, node: &Path, flags: OFlag) -> Result<Option<(File, FileStat)>> {
        let rel = relative(node);
        let name = rel.file_name().filter(|n| *n != "..");
        let parent = rel.parent().filter(|p| !p.as_os_str().is_empty());
        let Some(name) = name else {
            return self.open_regular_resolved(node, flags);
        };
        let Some(dir) = self.path_fd(parent.unwrap_or(Path::new(".")), true)? else {
            return Ok(None);
        };
        match nix::sys::stat::fstatat(&dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Err(Errno::ENOENT | Errno::ENOTDIR) => return Ok(None),
            Err(e) => bail!("cannot stat {}: {e}", self.show(node)),
            Ok(st) if is_kind(&st, SFlag::S_IFLNK) => {
                return self.open_regular_resolved(node, flags);
            }
            Ok(st) if !is_kind(&st, SFlag::S_IFREG) => return Err(self.not_regular(node, &st)),
            Ok(_) => {}
        }
        let fd = nix::fcntl::openat(
            &dir,
            name,
            flags | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("cannot open {}", self.show(node)))?;
        // a regular file when looked at, but it may have been replaced between the looks
        Ok(Some(self.regular_file(node, fd)?))
    }

    /// The metadata of what `fd` names, if it is a regular file (what was opened, not what a
    /// path named before: a FIFO or device swapped in is an error).
    fn regular_stat(&self, node: &Path, fd: impl AsFd) -> Result<FileStat> {
        let st = nix::sys::stat::fstat(fd.as_fd())
            .with_context(|| format!("cannot stat {}", self.show(node)))?;
        if !is_kind(&st, SFlag::S_IFREG) {
            return Err(self.not_regular(node, &st));
        }
        Ok(st)
    }

    /// The file `fd` opened for `node`, and its metadata, if it is a regular file.
    fn regular_file(&self, node: &Path, fd: OwnedFd) -> Result<(File, FileStat)> {
        let file = File::from(fd);
        let st = self.regular_stat(node, &file)?;
        Ok((file, st))
    }

    /// [`Root::open_regular`] through libpathrs's resolution of the whole path.
    fn open_regular_resolved(&self, node: &Path, flags: OFlag) -> Result<Option<(File, FileStat)>> {
        if self.is_host() {
            // the kernel's resolution is the node's: open, then make sure of what it is
            let fd = match nix::fcntl::open(
                &Path::new("/").join(relative(node)),
                flags | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(Errno::ENOENT | Errno::ENOTDIR) => return Ok(None),
                Err(e) => bail!("cannot open {}: {e}", self.show(node)),
            };
            return Ok(Some(self.regular_file(node, fd)?));
        }
        let rel = relative(node);
        let tree = match self.tree()? {
            Tree::Kernel(root) => return self.open_regular_openat2(root, node, flags),
            Tree::Pathrs(tree) => tree,
        };
        let h = match tree.resolve(&rel) {
            Ok(h) => h,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => bail!("cannot resolve {}: {}", self.show(node), io_error(e)),
        };
        let st = self.regular_stat(node, h.as_fd())?;
        let flags = OpenFlags::from_bits_truncate(flags.bits() as u64) | OpenFlags::O_NONBLOCK;
        let file = h
            .reopen(flags)
            .map_err(|e| anyhow!("cannot open {}: {}", self.show(node), io_error(e)))?;
        Ok(Some((file, st)))
    }

    /// [`Root::open_regular_resolved`] with `openat2`: the path is resolved once to see what
    /// it names, opened only if that is a regular file, and the file opened must be that one.
    fn open_regular_openat2(
        &self,
        root: &OwnedFd,
        node: &Path,
        flags: OFlag,
    ) -> Result<Option<(File, FileStat)>> {
        let rel = relative(node);
        let h = match openat2_in(root, &rel, OFlag::O_PATH, Mode::empty()) {
            Ok(h) => h,
            Err(Errno::ENOENT | Errno::ENOTDIR) => return Ok(None),
            Err(e) => bail!("cannot resolve {}: {e}", self.show(node)),
        };
        let seen = self.regular_stat(node, &h)?;
        let fd = openat2_in(
            root,
            &rel,
            flags | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
            Mode::empty(),
        )
        .with_context(|| format!("cannot open {}", self.show(node)))?;
        let (file, st) = self.regular_file(node, fd)?;
        if (st.st_dev, st.st_ino) != (seen.st_dev, seen.st_ino) {
            bail!(
                "{} was replaced while nodeprep opened it; run nodeprep again",
                self.show(node)
            );
        }
        Ok(Some((file, st)))
    }

    /// [`Root::read`] for files that are only parsed: bytes that are not UTF-8 become U+FFFD.
    pub fn read_text(&self, node: impl AsRef<Path>, limit: u64) -> Result<Option<String>> {
        Ok(self
            .read(node, limit)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// The names in a directory, sorted; empty when it does not exist or is not a directory.
    pub fn list_dir(&self, node: impl AsRef<Path>) -> Result<Vec<String>> {
        let node = node.as_ref();
        let Some(h) = self.path_fd(node, true)? else {
            return Ok(Vec::new());
        };
        let st = nix::sys::stat::fstat(h.as_fd())
            .with_context(|| format!("cannot stat {}", self.show(node)))?;
        if !is_kind(&st, SFlag::S_IFDIR) {
            return Ok(Vec::new());
        }
        // "." of the resolved directory: a readable descriptor without a procfs reopen
        let fd = nix::fcntl::openat(
            &h,
            ".",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("cannot list {}", self.show(node)))?;
        let mut dir = nix::dir::Dir::from_fd(fd)
            .with_context(|| format!("cannot list {}", self.show(node)))?;
        let mut names = Vec::new();
        for entry in dir.iter() {
            let entry = entry.with_context(|| format!("cannot list {}", self.show(node)))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != "." && name != ".." {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Follows `node` through symlinks, as the kernel would inside the root, to the file a
    /// write should replace. A link to /dev/null anywhere on the way is a mask.
    pub fn write_target(&self, node: impl AsRef<Path>) -> Result<Target> {
        let mut cur = PathBuf::from("/").join(relative(node.as_ref()));
        for _ in 0..MAX_LINKS {
            match self.entry(&cur)? {
                Entry::Link(t) if t == Path::new("/dev/null") => return Ok(Target::Masked(cur)),
                Entry::Link(t) => {
                    let parent = cur.parent().unwrap_or(Path::new("/")).to_path_buf();
                    cur = if t.is_absolute() { t } else { parent.join(t) };
                }
                Entry::Missing | Entry::File { .. } => return Ok(Target::File(cur)),
                Entry::Dir => bail!("{} is a directory; move it away", self.show(&cur)),
                Entry::Special(k) => {
                    bail!(
                        "{} is a {k}, not a regular file; move it away",
                        self.show(&cur)
                    )
                }
            }
        }
        bail!(
            "{}: more than {MAX_LINKS} symlinks on the way; fix the link loop",
            self.show(node)
        )
    }

    /// The parent directory of `node` (created 0755 when missing) and the last name.
    fn parent_dir(&self, node: &Path) -> Result<(File, String)> {
        let rel = relative(node);
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| n != "..")
            .ok_or_else(|| anyhow!("{} does not name a file", self.show(node)))?;
        let parent = rel.parent().unwrap_or(Path::new(""));
        let tree = match self.tree()? {
            Tree::Kernel(root) => return Ok((self.mkdir_all(root, parent)?, name)),
            Tree::Pathrs(tree) => tree,
        };
        let perm = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        let h = tree
            .mkdir_all(parent, &perm)
            .map_err(|e| anyhow!("cannot create {}: {}", self.show(parent), io_error(e)))?;
        let dir = h
            .reopen(OpenFlags::O_RDONLY | OpenFlags::O_DIRECTORY)
            .map_err(|e| anyhow!("cannot open {}: {}", self.show(parent), io_error(e)))?;
        Ok((dir, name))
    }

    /// The directory `rel` (a path under the root), each missing one created 0755 in the
    /// directory resolved before it; links on the way are followed inside the root. Opened
    /// for reading, as a directory.
    fn mkdir_all(&self, root: &OwnedFd, rel: &Path) -> Result<File> {
        let mut done = PathBuf::new();
        let mut dir = openat2_in(
            root,
            &done,
            OFlag::O_PATH | OFlag::O_DIRECTORY,
            Mode::empty(),
        )
        .with_context(|| format!("cannot open {}", self.dir.display()))?;
        for part in rel.components() {
            let name = part.as_os_str();
            done.push(name);
            let open =
                |d: &Path| openat2_in(root, d, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty());
            dir = match open(&done) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => {
                    let made = match nix::sys::stat::mkdirat(
                        &dir,
                        name,
                        Mode::from_bits_truncate(0o755),
                    ) {
                        Ok(()) => true,
                        Err(Errno::EEXIST) => false,
                        Err(e) => bail!("cannot create {}: {e}", self.show(&done)),
                    };
                    let fd =
                        open(&done).with_context(|| format!("cannot open {}", self.show(&done)))?;
                    if made {
                        // 0755 whatever the caller's umask
                        let opened = nix::fcntl::openat(
                            &fd,
                            ".",
                            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                            Mode::empty(),
                        );
                        opened
                            .and_then(|d| {
                                nix::sys::stat::fchmod(&d, Mode::from_bits_truncate(0o755))
                            })
                            .with_context(|| format!("cannot make {} 0755", self.show(&done)))?;
                    }
                    fd
                }
                Err(e) => bail!("cannot open {}: {e}", self.show(&done)),
            };
        }
        let fd = nix::fcntl::openat(
            &dir,
            ".",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("cannot open {}", self.show(&done)))?;
        Ok(File::from(fd))
    }

    /// Replaces the file at the end of `node`'s symlink chain atomically: a temp file in the
    /// same directory (a stale one from a killed run is removed first), fsync, rename, fsync
    /// the directory. The link itself is kept; the file keeps its owner, group, permission
    /// bits and extended attributes (0644, root's, when new). A mask is never replaced: that
    /// is an error, and the planner reports it first.
    pub fn write_atomic(&self, node: impl AsRef<Path>, content: &[u8]) -> Result<()> {
        let node = node.as_ref();
        let target = match self.write_target(node)? {
            Target::Masked(link) => bail!(
                "{} is a link to /dev/null: the admin masked it; nodeprep leaves it alone",
                self.show(link)
            ),
            Target::File(t) => t,
        };
        let keep = match self.entry(&target)? {
            Entry::File { .. } => self.kept_of(&target)?,
            _ => None,
        };
        let mode = keep.as_ref().map_or(0o644, |k| k.mode);
        let (dir, name) = self.parent_dir(&target)?;
        let tmp = format!(".{name}.nodeprep.tmp");
        let shown = self.show(&target);
        let result = crate::signals::critical(|| -> Result<()> {
            match nix::unistd::unlinkat(&dir, tmp.as_str(), nix::unistd::UnlinkatFlags::NoRemoveDir)
            {
                Ok(()) | Err(Errno::ENOENT) => {}
                Err(e) => return Err(e).context("cannot remove a stale temp file"),
            }
            let fd = nix::fcntl::openat(
                &dir,
                tmp.as_str(),
                OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(mode),
            )?;
            let mut f = File::from(fd);
            let written = (|| -> Result<()> {
                if let Some(k) = &keep {
                    k.give_to(&f)?;
                }
                // after the chown, which clears set-id bits
                nix::sys::stat::fchmod(&f, Mode::from_bits_truncate(mode))?;
                f.write_all(content)?;
                f.sync_all()?;
                nix::fcntl::renameat(&dir, tmp.as_str(), &dir, name.as_str())?;
                Ok(dir.sync_all()?)
            })();
            if written.is_err() {
                let _ = nix::unistd::unlinkat(
                    &dir,
                    tmp.as_str(),
                    nix::unistd::UnlinkatFlags::NoRemoveDir,
                );
            }
            written
        });
        result.with_context(|| format!("cannot write {shown}"))
    }

    /// What a rewrite of the regular file `node` keeps of it.
    fn kept_of(&self, node: &Path) -> Result<Option<Kept>> {
        let Some((file, st)) = self.open_regular(node, OFlag::O_RDONLY)? else {
            return Ok(None);
        };
        let shown = self.show(node);
        let mut xattrs = Vec::new();
        let names = xattr::FileExt::list_xattr(&file)
            .with_context(|| format!("cannot list the extended attributes of {shown}"))?;
        for name in names {
            let value = xattr::FileExt::get_xattr(&file, &name)
                .with_context(|| format!("cannot read the extended attributes of {shown}"))?;
            if let Some(value) = value {
                xattrs.push((name, value));
            }
        }
        Ok(Some(Kept {
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            xattrs,
        }))
    }

    /// Overwrites a file that must already exist (a `/proc/sys` key): never creates one.
    pub fn write_existing(&self, node: impl AsRef<Path>, content: &[u8]) -> Result<()> {
        let node = node.as_ref();
        let mut f = self
            .open_regular(node, OFlag::O_WRONLY | OFlag::O_TRUNC)?
            .ok_or_else(|| anyhow!("{} does not exist", self.show(node)))?
            .0;
        f.write_all(content)
            .with_context(|| format!("cannot write {}", self.show(node)))
    }

    /// A root other than `/` that is not the running node's: an image. The kernel decides,
    /// not the root's files: a live root's `/proc` is a mounted procfs that shows the running
    /// kernel's release, and the root holds that kernel's module tree (or the kernel has no
    /// module support). Anything else, a build chroot with the host's `/proc` but another
    /// kernel's modules included, is an image.
    pub fn is_image(&self) -> bool {
        !self.is_host() && !*self.live.get_or_init(|| self.shows_running_kernel())
    }

    fn shows_running_kernel(&self) -> bool {
        let osrelease = "/proc/sys/kernel/osrelease";
        if self.fake_proc {
            return self.exists(osrelease);
        }
        let procfs = self.path_fd(Path::new("/proc"), true).is_ok_and(|fd| {
            fd.is_some_and(|fd| {
                nix::sys::statfs::fstatfs(&fd)
                    .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC)
            })
        });
        if !procfs {
            return false;
        }
        let running = nix::sys::utsname::uname().map(|u| u.release().to_owned());
        let shown = self.read_text(osrelease, 256).ok().flatten();
        let release = match (running, shown) {
            (Ok(running), Some(shown)) if running.to_str() == Some(shown.trim()) => {
                shown.trim().to_string()
            }
            _ => return false,
        };
        ["/lib/modules", "/usr/lib/modules"]
            .iter()
            .any(|base| self.exists(format!("{base}/{release}")))
            || !self.exists("/proc/modules")
    }

    /// An exclusive, non-blocking `flock` on `node` (created 0600 when missing), a regular
    /// file of nodeprep's own user.
    pub fn lock(&self, node: impl AsRef<Path>) -> Result<Flock<File>> {
        let node = node.as_ref();
        let shown = self.show(node);
        match self.entry(node)? {
            Entry::Missing | Entry::File { .. } => {}
            Entry::Link(_) => bail!("the lock file {shown} is a symlink; remove it"),
            other => bail!("the lock file {shown} is not a regular file ({other:?}); remove it"),
        }
        let (dir, name) = self.parent_dir(node)?;
        let fd = nix::fcntl::openat(
            &dir,
            name.as_str(),
            OFlag::O_WRONLY
                | OFlag::O_CREAT
                | OFlag::O_NOFOLLOW
                | OFlag::O_NONBLOCK
                | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
        .with_context(|| format!("cannot open the lock file {shown}"))?;
        let st = nix::sys::stat::fstatat(&dir, name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
            .with_context(|| format!("cannot stat {shown}"))?;
        if !is_kind(&st, SFlag::S_IFREG) {
            bail!("the lock file {shown} is not a regular file; remove it");
        }
        // one somebody else made could be held by them for ever
        let me = nix::unistd::geteuid().as_raw();
        if st.st_uid != me {
            bail!(
                "the lock file {shown} belongs to uid {}, not to nodeprep's user (uid {me}); remove it",
                st.st_uid
            );
        }
        Flock::lock(File::from(fd), FlockArg::LockExclusiveNonblock).map_err(|(_, e)| {
            anyhow!("cannot take the lock {shown}: {e}; another nodeprep apply is running, wait for it and try again")
        })
    }

    /// The first trusted directory under the root holding an executable `name`, as a node
    /// path. Links are followed inside the root; the caller's PATH is never used.
    pub fn find_program(&self, name: &str) -> Option<String> {
        self.find_programs(&[name]).pop().flatten()
    }

    /// [`Root::find_program`] of each name: the first trusted directory holding an
    /// executable regular file of that name, links followed inside the root. Each directory
    /// is resolved once (when first needed), not once per name: a name is then one
    /// `fstatat` there, and one that is a link there is resolved whole.
    pub fn find_programs(&self, names: &[&str]) -> Vec<Option<String>> {
        let mut dirs: Vec<Option<Option<OwnedFd>>> = TRUSTED_DIRS.iter().map(|_| None).collect();
        names
            .iter()
            .map(|name| {
                TRUSTED_DIRS.iter().enumerate().find_map(|(i, d)| {
                    let path = format!("{d}/{name}");
                    let dir = dirs[i]
                        .get_or_insert_with(|| self.path_fd(Path::new(d), true).ok().flatten());
                    let Some(dir) = dir else {
                        return None;
                    };
                    match nix::sys::stat::fstatat(&*dir, *name, AtFlags::AT_SYMLINK_NOFOLLOW) {
                        Err(Errno::ENOENT | Errno::ENOTDIR) => None,
                        Ok(st) if is_kind(&st, SFlag::S_IFREG) => {
                            (st.st_mode & 0o111 != 0).then_some(path)
                        }
                        // a link (or an error): the whole resolution decides
                        _ => self.is_executable(&path).then_some(path),
                    }
                })
            })
            .collect()
    }
}

/// A regular file opened by [`Root::open_lines`].
pub struct Lines {
    file: File,
    limit: u64,
    shown: String,
}

impl Lines {
    /// Calls `line` with each line ([`for_each_line`]); more than the limit is an error.
    pub fn each(self, line: &mut dyn FnMut(&[u8])) -> Result<()> {
        let whole = for_each_line(self.file, self.limit, line)
            .with_context(|| format!("cannot read {}", self.shown))?;
        if !whole {
            return Err(too_large(&self.shown, self.limit));
        }
        Ok(())
    }
}

/// The one error for a file over the size nodeprep reads there.
fn too_large(shown: &str, limit: u64) -> anyhow::Error {
    anyhow!("{shown} is larger than {limit} bytes; that is not a file nodeprep expects there")
}

/// Calls `line` with each line `r` gives (without its `\n`; a last line without one too).
/// Ok(false) when more than `limit` bytes came (the lines before were given).
pub fn for_each_line(r: impl Read, limit: u64, line: &mut dyn FnMut(&[u8])) -> io::Result<bool> {
    let mut r = io::BufReader::with_capacity(64 << 10, r.take(limit.saturating_add(1)));
    let (mut buf, mut total) = (Vec::new(), 0u64);
    loop {
        buf.clear();
        let n = io::BufRead::read_until(&mut r, b'\n', &mut buf)?;
        if n == 0 {
            return Ok(true);
        }
        total += n as u64;
        if total > limit {
            return Ok(false);
        }
        line(buf.strip_suffix(b"\n").unwrap_or(&buf));
    }
}

/// Reads at most `limit + 1` bytes, so the caller can tell that the file is too large.
pub fn read_capped(r: impl Read, limit: u64) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_whole_across_reads_and_buffer_sizes() {
        // a reader that gives a few bytes at a time, so lines straddle every read
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = self.1.min(out.len()).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let long = "x".repeat(200_000); // longer than the buffer: it grows
        let text = format!("a\n\nb:c\r\n{long}\nlast");
        let want: Vec<&[u8]> = text.as_bytes().split(|b| *b == b'\n').collect();
        for step in [1, 7, 4096, 1 << 20] {
            let mut got: Vec<Vec<u8>> = Vec::new();
            let whole = for_each_line(Trickle(text.as_bytes(), step), u64::MAX, &mut |l| {
                got.push(l.to_vec())
            })
            .unwrap();
            assert!(whole);
            assert_eq!(got, want, "reads of {step} bytes");
        }
        // a final newline ends the last line, it does not start an empty one
        let mut got = Vec::new();
        for_each_line(&b"a\nb\n"[..], 100, &mut |l| got.push(l.to_vec())).unwrap();
        assert_eq!(got, [b"a".to_vec(), b"b".to_vec()]);
        // more than the limit: false
        let mut n = 0;
        assert!(!for_each_line(&b"a\nb\nc\n"[..], 3, &mut |_| n += 1).unwrap());
        assert!(for_each_line(&b""[..], 0, &mut |_| n += 100).unwrap());
        assert!(n < 100);
    }

    #[test]
    fn any_spelling_of_slash_is_the_host() {
        let r = Root::new("/tmp/fx");
        assert!(!r.is_host());
        assert_eq!(r.show("/proc/modules"), "/tmp/fx/proc/modules");
        let h = Root::new("/");
        assert_eq!(h.show("/proc/modules"), "/proc/modules");
        assert!(h.is_host());
        // apply's root check must not be sidestepped
        assert!(Root::new("/.").is_host());
        assert!(Root::new("/usr/..").is_host());
        let rel = Root::new("some/dir");
        assert!(rel.dir().is_absolute() && rel.dir().ends_with("some/dir"));
    }
}
