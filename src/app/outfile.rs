//! Where the report goes, and the guarantee that it never lands on evidence.
//!
//! Before anything is opened for writing, `-o FILE` is compared with every input of the
//! command: each root (a folder: the output may not be anywhere inside it; an image: none of
//! its segment files, nor the next name of a split set), each hive given with
//! `--software-hive`/`--system-hive`, each `--rules` file and each `kbscan version` input. The
//! output is compared by canonical path (symbolic links resolved) and, when it exists, by
//! (device, inode), so a hard link to an input is refused too; the folders above it are
//! compared by (device, inode) with each folder root, which catches a root bind-mounted
//! elsewhere. A refused `-o` creates and truncates nothing.
//!
//! A regular file already at `-o` is refused unless the command was given `--force`
//! ([`Existing`]); `kbscan case` replaces the reports of its own output folder.
//!
//! An accepted report is written to a new temporary file (`O_CREAT | O_EXCL | O_NOFOLLOW`)
//! beside its target and moved into place only after the command succeeded: an existing
//! target is replaced by the rename (never written through), a missing one is created by a
//! hard link that fails if something appeared meanwhile. On any error the temporary file is
//! removed. A character device or a FIFO (`-o /dev/null`, `-o >(gzip > r.gz)`) is written
//! directly, as a shell redirection would.
//!
//! Over 400 lines: every check that keeps the report away from evidence (paths, inodes,
//! segments, hives, rule files, links) must run before the first write; split, a check could
//! be forgotten.

use std::ffi::OsString;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Component, Path, PathBuf};

use crate::error::Error;

/// (device, inode) of a file.
type Id = (u64, u64);

#[cfg(unix)]
fn id_of(m: &Metadata) -> Option<Id> {
    use std::os::unix::fs::MetadataExt;
    Some((m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn id_of(_: &Metadata) -> Option<Id> {
    None
}

/// How many names (hard links) a file has.
#[cfg(unix)]
fn nlink(m: &Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    if m.is_file() {
        m.nlink()
    } else {
        1
    }
}

#[cfg(not(unix))]
fn nlink(_: &Metadata) -> u64 {
    1
}

/// One input of the command, as the output is compared with it.
struct Input {
    /// As given, for the message.
    shown: PathBuf,
    /// What it is, for the message ("the scanned root", "the --software-hive file", …).
    what: &'static str,
    canonical: Option<PathBuf>,
    /// (device, inode) of the input and, when it is a link, of the link itself.
    ids: Vec<Id>,
    /// A folder: nothing may be written anywhere under it.
    tree: bool,
    /// An image file: a file written under a name its set's naming takes (`disk.002`,
    /// `disk.1000`, `case.E02`) would join the set.
    image: bool,
}

/// Every input of one command.
#[derive(Default)]
pub struct Inputs {
    items: Vec<Input>,
}

impl Inputs {
    /// A file or folder the command reads.
    pub fn add(&mut self, path: &Path, what: &'static str) {
        let meta = fs::metadata(path).ok();
        let mut ids: Vec<Id> = meta.as_ref().and_then(id_of).into_iter().collect();
        if let Some(l) = fs::symlink_metadata(path).ok().as_ref().and_then(id_of) {
            if !ids.contains(&l) {
                ids.push(l);
            }
        }
        self.items.push(Input {
            shown: path.to_path_buf(),
            what,
            canonical: fs::canonicalize(path)
                .ok()
                .or_else(|| absolute_missing(path)),
            ids,
            tree: meta.as_ref().is_some_and(Metadata::is_dir),
            image: false,
        });
    }

    /// A scan root: a folder, or an image file and every segment of its set (and a VMDK
    /// descriptor's extent files).
    pub fn add_root(&mut self, root: &Path) {
        if !kbscan_core::image::is_image(root) {
            self.add(root, "the scanned root");
            return;
        }
        // A split raw set (`disk.001`, `disk.002`, …), and every file of a container's set
        // (EWF segments, VMDK extents): each holds the disk's data.
        let segments = kbscan_core::image::reader::segment_paths(root);
        for seg in &segments {
            self.add(seg, "a segment of the scanned image");
        }
        let set = kbscan_core::image::container::set_files(root);
        for (f, what) in set.files {
            if !segments.contains(&f) {
                self.add(&f, what);
            }
        }
        // A set whose files cannot be told (a VMDK descriptor kbscan cannot read, which
        // another reader might take to name any file beside it): its whole folder is kept.
        if set.unknown.is_some() {
            let real = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
            if let Some(dir) = real.parent() {
                self.add(
                    dir,
                    "the folder of an image set whose files kbscan cannot tell (an unreadable VMDK descriptor):",
                );
            }
        }
        if let Some(first) = self.items.iter_mut().rev().find(|i| i.shown == root) {
            first.image = true;
        }
    }

    /// Why writing the report at `target` (a canonical path) would touch an input, if it would.
    fn clash(&self, target: &Path, existing: Option<&Metadata>) -> Option<String> {
        let target_id = existing.and_then(id_of);
        for i in &self.items {
            let shown = i.shown.display();
            if let Some(c) = &i.canonical {
                if target == c {
                    return Some(format!("it is {} {shown}", i.what));
                }
                if i.tree && target.starts_with(c) {
                    return Some(format!("it is inside {} {shown}", i.what));
                }
            }
            if target_id.is_some_and(|t| i.ids.contains(&t)) {
                return Some(format!(
                    "it is {} {shown} (the same file by another name)",
                    i.what
                ));
            }
            if let (true, Some(c)) = (i.image, &i.canonical) {
                if kbscan_core::image::joins_set(c, target) {
                    return Some(format!(
                        "the name would join the segments of the image set of {shown}"
                    ));
                }
            }
        }
        // A file with other hard links on a folder root's file system may be a file of that
        // root under another name; finding out would mean walking the root first.
        if let Some(((dev, _), links)) = existing.and_then(|m| Some((id_of(m)?, nlink(m)))) {
            let shared = self
                .items
                .iter()
                .find(|i| i.tree && i.ids.iter().any(|(d, _)| *d == dev));
            if let (true, Some(i)) = (links > 1, shared) {
                return Some(format!(
                    "it has {links} hard links on the file system of {} {}, so it may be a \
                     file of it under another name",
                    i.what,
                    i.shown.display()
                ));
            }
        }
        // A folder root reached by another path (a bind mount): compare each folder above
        // the target with each folder root by (device, inode).
        let roots: Vec<(&Input, Id)> = self
            .items
            .iter()
            .filter(|i| i.tree)
            .flat_map(|i| i.ids.iter().map(move |id| (i, *id)))
            .collect();
        for dir in target.ancestors().skip(1) {
            let Some(id) = fs::metadata(dir).ok().as_ref().and_then(id_of) else {
                continue;
            };
            if let Some((i, _)) = roots.iter().find(|(_, r)| *r == id) {
                return Some(format!(
                    "it is inside {} {} (reached as {})",
                    i.what,
                    i.shown.display(),
                    dir.display()
                ));
            }
        }
        None
    }
}

/// Checks an output folder (`kbscan case -o DIR`) against the inputs before it is created:
/// refused when it is, or lies inside, any input, or would join an image's set. Each file
/// written in it goes through [`Sink::open`] as well.
pub fn check_dir(dir: &Path, inputs: &Inputs) -> Result<(), Error> {
    // The folder as it will be: its nearest existing ancestor made canonical, the rest kept.
    let mut existing = dir;
    let mut rest = Vec::new();
    while fs::symlink_metadata(existing).is_err() {
        match (existing.parent(), existing.file_name()) {
            (Some(p), Some(n)) => {
                rest.push(n.to_owned());
                existing = if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                };
            }
            _ => return Err(refused(dir, "it does not name a folder")),
        }
    }
    let mut at = fs::canonicalize(existing).map_err(|e| output_error(dir, e))?;
    for n in rest.iter().rev() {
        if n == ".." {
            return Err(refused(dir, "it does not name a folder"));
        }
        at.push(n);
    }
    let meta = fs::metadata(&at).ok();
    if let Some(why) = inputs.clash(&at, meta.as_ref()) {
        return Err(refused(dir, why));
    }
    if meta.is_some_and(|m| !m.is_dir()) {
        return Err(output_error(
            dir,
            io::Error::new(io::ErrorKind::InvalidInput, "it is not a folder"),
        ));
    }
    Ok(())
}

/// Where a path that does not exist (yet) would be: its folder made canonical, its name kept.
fn absolute_missing(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(fs::canonicalize(parent).ok()?.join(name))
}

fn refused(path: &Path, reason: impl Into<String>) -> Error {
    Error::OutputRefused {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn output_error(path: &Path, source: io::Error) -> Error {
    Error::Output {
        path: path.to_path_buf(),
        source,
    }
}

/// Where an accepted `-o` goes.
enum Plan {
    /// A regular file (or nothing yet) at this canonical path; `existed`: replace it.
    File { target: PathBuf, existed: bool },
    /// A character device or FIFO, written directly.
    Stream(PathBuf),
}

/// Whether an existing regular file at `-o` may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refused, left as it was (the default: a report never replaces a file silently).
    Refuse,
    /// Replaced (`--force`; `kbscan case` rewriting the reports of its own output folder).
    Replace,
}

/// Checks `-o` against the inputs; opens nothing.
fn plan(output: &Path, inputs: &Inputs, existing: Existing) -> Result<Plan, Error> {
    let Some(name) = output.file_name() else {
        return Err(refused(output, "it does not name a file"));
    };
    if matches!(output.components().next_back(), Some(Component::ParentDir)) {
        return Err(refused(output, "it does not name a file"));
    }
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = fs::canonicalize(parent).map_err(|e| output_error(output, e))?;
    let at = dir.join(name);
    // The name itself (a link inside a root is never written through: checked here too).
    if let Some(why) = inputs.clash(&at, None) {
        return Err(refused(output, why));
    }
    let lmeta = match fs::symlink_metadata(&at) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Plan::File {
                target: at,
                existed: false,
            })
        }
        Err(e) => return Err(output_error(output, e)),
    };
    let is_link = lmeta.file_type().is_symlink();
    let meta = if is_link {
        fs::metadata(&at).map_err(|_| {
            refused(
                output,
                "it is a symbolic link that leads nowhere (or loops); give the real path",
            )
        })?
    } else {
        lmeta
    };
    // A link is resolved: the report goes where it leads, as a redirection would.
    let target = if is_link {
        fs::canonicalize(&at).ok()
    } else {
        Some(at.clone())
    };
    if let Some(why) = inputs.clash(target.as_deref().unwrap_or(&at), Some(&meta)) {
        return Err(refused(output, why));
    }
    let ft = meta.file_type();
    if meta.is_file() && existing == Existing::Refuse {
        return Err(refused(
            output,
            "the file exists; give --force to replace it (it is left as it was)",
        ));
    }
    if meta.is_file() {
        let Some(target) = target else {
            return Err(refused(output, "its symbolic link cannot be resolved"));
        };
        return Ok(Plan::File {
            target,
            existed: true,
        });
    }
    if meta.is_dir() {
        return Err(output_error(
            output,
            io::Error::new(io::ErrorKind::InvalidInput, "it is a folder"),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_char_device() || ft.is_fifo() {
            return Ok(Plan::Stream(at));
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_block_device() {
            return Err(refused(
                output,
                "it is a block device (a disk, a partition or a loop device)",
            ));
        }
    }
    let _ = ft;
    Err(refused(
        output,
        "it is neither a regular file, a character device nor a FIFO",
    ))
}

/// Checks `-o` against the inputs as [`Sink::open`] does, opening nothing: a second file
/// (the CSV examination record) is checked before the first is opened, so that a refusal of
/// either leaves nothing written, not even a temporary file.
pub fn check(output: &Path, inputs: &Inputs, existing: Existing) -> Result<(), Error> {
    plan(output, inputs, existing).map(|_| ())
}

/// A report file being written: a temporary file beside its target until `commit`.
pub struct Pending {
    shown: PathBuf,
    tmp: PathBuf,
    target: PathBuf,
    existed: bool,
    file: BufWriter<File>,
    done: bool,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Creates a new file that cannot already exist, nor be a link (`O_CREAT | O_EXCL |
/// O_NOFOLLOW | O_CLOEXEC`, mode 0644 before the umask).
fn create_new(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    }
    o.open(path)
}

fn create_temp(target: &Path) -> io::Result<(PathBuf, File)> {
    let dir = target.parent().unwrap_or(Path::new("/"));
    let mut base = OsString::from(".");
    base.push(target.file_name().unwrap_or_default());
    base.push(format!(".kbscan-{}", std::process::id()));
    let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
    for n in 0..1000u32 {
        let mut name = base.clone();
        name.push(format!(".{n}.tmp"));
        let p = dir.join(name);
        match create_new(&p) {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

impl Pending {
    /// Flushes, syncs and moves the report into place, unless the target became an input.
    fn commit(mut self, inputs: &Inputs) -> Result<(), Error> {
        let shown = self.shown.clone();
        let err = |e| output_error(&shown, e);
        self.file.flush().map_err(err)?;
        self.file.get_ref().sync_all().map_err(err)?;
        let now = fs::symlink_metadata(&self.target);
        if let Ok(m) = &now {
            if let Some(why) = inputs.clash(&self.target, Some(m)) {
                return Err(refused(&shown, why));
            }
        }
        if self.existed || now.is_ok() {
            fs::rename(&self.tmp, &self.target).map_err(err)?;
        } else {
            // Created, never replaced: a link fails if something appeared in the meantime.
            match fs::hard_link(&self.tmp, &self.target) {
                Ok(()) => {
                    let _ = fs::remove_file(&self.tmp);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(err(io::Error::new(
                        e.kind(),
                        "the file appeared while kbscan ran; not replaced",
                    )))
                }
                // File systems without hard links (FAT): a plain rename.
                Err(_) => fs::rename(&self.tmp, &self.target).map_err(err)?,
            }
        }
        self.done = true;
        Ok(())
    }
}

/// The report's destination.
pub enum Sink {
    Stdout(BufWriter<io::StdoutLock<'static>>),
    File(Pending),
    Stream {
        shown: PathBuf,
        file: BufWriter<File>,
    },
}

impl Sink {
    /// Checks `-o` against the inputs and opens it (a temporary file for a regular target),
    /// or standard output, which must be open.
    pub fn open(output: Option<&Path>, inputs: &Inputs, existing: Existing) -> Result<Sink, Error> {
        let Some(output) = output else {
            if super::stdout_closed() {
                return Err(Error::StdoutClosed);
            }
            return Ok(Sink::Stdout(BufWriter::new(io::stdout().lock())));
        };
        match plan(output, inputs, existing)? {
            Plan::File { target, existed } => {
                let (tmp, file) = create_temp(&target).map_err(|e| output_error(output, e))?;
                Ok(Sink::File(Pending {
                    shown: output.to_path_buf(),
                    tmp,
                    target,
                    existed,
                    file: BufWriter::new(file),
                    done: false,
                }))
            }
            Plan::Stream(at) => {
                let mut o = OpenOptions::new();
                o.write(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    o.custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC);
                }
                let file = o.open(&at).map_err(|e| output_error(output, e))?;
                Ok(Sink::Stream {
                    shown: output.to_path_buf(),
                    file: BufWriter::new(file),
                })
            }
        }
    }

    pub fn writer(&mut self) -> &mut dyn Write {
        match self {
            Sink::Stdout(w) => w,
            Sink::File(p) => &mut p.file,
            Sink::Stream { file, .. } => file,
        }
    }

    /// Ends the report: `written` is how rendering went. Standard output closed by its reader
    /// (`| head`) is a quiet stop; any other failure is an error naming the destination, and
    /// a temporary file is removed.
    pub fn finish(
        self,
        written: Result<(), kbscan_output::Error>,
        inputs: &Inputs,
    ) -> Result<(), Error> {
        let written = written.map_err(Error::from);
        match self {
            Sink::Stdout(mut w) => {
                let flushed = match written {
                    Ok(()) => w.flush().map_err(Error::Write),
                    Err(e) => Err(e),
                };
                match flushed {
                    Err(Error::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
                        // The reader has gone: what is still buffered is dropped.
                        Ok(())
                    }
                    other => other,
                }
            }
            Sink::File(p) => {
                let shown = p.shown.clone();
                match written {
                    Ok(()) => p.commit(inputs),
                    Err(Error::Write(e)) => Err(output_error(&shown, e)),
                    Err(e) => Err(e),
                }
            }
            Sink::Stream { shown, mut file } => {
                match written.and_then(|()| file.flush().map_err(Error::Write)) {
                    Err(Error::Write(e)) => Err(output_error(&shown, e)),
                    other => other,
                }
            }
        }
    }
}
