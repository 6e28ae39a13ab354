//! The lab file as text, and where each field of it sits.
//!
//! serde_yaml tells us *what* a document says; diagnostics also need *where*. This module reads
//! the file (refusing directories, non-UTF-8 text and oversized files before any parser sees
//! them) and builds a [`SpanIndex`] from yaml-rust2's marked event stream, so that every
//! diagnostic, structural or semantic, can point at a line and column through its [`FieldPath`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Lab files larger than this are refused before parsing (a lab is a few kilobytes).
pub const MAX_LAB_BYTES: u64 = 1024 * 1024;

/// One step of a path into the lab document.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index (0-based).
    Index(usize),
}

/// A path to a field of the lab, such as `provisioning.tools[1].url`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// The document root.
    #[must_use]
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// Parse a dotted path (`vm.osDisk.sizeGB`, `network.allowFrom[0]`). Keys are identifiers.
    #[must_use]
    pub fn parse(dotted: &str) -> Self {
        let mut segments = Vec::new();
        for part in dotted.split('.').filter(|p| !p.is_empty()) {
            let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
            if !key.is_empty() {
                segments.push(Segment::Key(key.to_string()));
            }
            for index in rest.split('[') {
                if let Ok(i) = index.trim_end_matches(']').parse() {
                    segments.push(Segment::Index(i));
                }
            }
        }
        Self(segments)
    }

    /// This path extended by a key.
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Key(key.to_string()));
        next
    }

    /// This path extended by an index.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Index(index));
        next
    }

    /// The path without its last segment.
    #[must_use]
    pub fn parent(&self) -> Self {
        let mut next = self.clone();
        next.0.pop();
        next
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(document)");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(k) if is_plain_key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Segment::Key(k) => write!(f, "[{k:?}]")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A position in the lab file: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

/// Where a field sits: its key (for mapping entries) and its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpan {
    /// Position of the key, when the field is a mapping entry.
    pub key: Option<(Position, usize)>,
    /// Position and length (in characters; 1 for collections) of the value.
    pub value: (Position, usize),
}

/// Field path → span, for one document.
#[derive(Clone, Debug, Default)]
pub struct SpanIndex {
    spans: BTreeMap<FieldPath, FieldSpan>,
}

impl SpanIndex {
    /// Index a YAML text. A text that does not parse gives an empty index (the YAML error
    /// itself is reported by the deserializer with its own position).
    #[must_use]
    pub fn build(text: &str) -> Self {
        let mut builder = IndexBuilder {
            text,
            stack: Vec::new(),
            spans: BTreeMap::new(),
            depth: 0,
            cursor: (0, 0),
        };
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut builder, false).is_err() {
            return Self::default();
        }
        Self {
            spans: builder.spans,
        }
    }

    /// The span of a field, or of its nearest indexed ancestor.
    #[must_use]
    pub fn lookup(&self, path: &FieldPath) -> Option<FieldSpan> {
        let mut path = path.clone();
        loop {
            if let Some(span) = self.spans.get(&path) {
                return Some(*span);
            }
            if path.0.is_empty() {
                return None;
            }
            path.0.pop();
        }
    }

    /// The span of exactly this field.
    #[must_use]
    pub fn exact(&self, path: &FieldPath) -> Option<FieldSpan> {
        self.spans.get(path).copied()
    }
}

/// Deep documents are indexed only this far (serde_yaml refuses deeper ones anyway).
const MAX_INDEX_DEPTH: usize = 64;

enum Frame {
    Mapping {
        path: FieldPath,
        pending_key: Option<(String, Position, usize)>,
        expect_key: bool,
    },
    Sequence {
        path: FieldPath,
        next: usize,
    },
}

struct IndexBuilder<'a> {
    text: &'a str,
    stack: Vec<Frame>,
    spans: BTreeMap<FieldPath, FieldSpan>,
    depth: usize,
    /// (character index, byte offset) of the last scalar measured: events arrive in text
    /// order, so finding the next one walks forward from here (linear in the text, not in
    /// the text times the number of scalars).
    cursor: (usize, usize),
}

impl IndexBuilder<'_> {
    /// The text from the character at `index` (yaml-rust2's marks count characters).
    fn rest_from(&mut self, index: usize) -> &str {
        let (mut chars, mut bytes) = self.cursor;
        if index < chars {
            (chars, bytes) = (0, 0);
        }
        let mut iter = self.text[bytes..].char_indices();
        while chars < index {
            match iter.next() {
                Some(_) => chars += 1,
                None => break,
            }
        }
        bytes += iter.next().map_or(self.text.len() - bytes, |(at, _)| at);
        self.cursor = (chars, bytes);
        &self.text[bytes..]
    }

    fn position(&self, mark: Marker) -> Position {
        // yaml-rust2 counts lines from 1 and columns (in characters) from 0.
        Position {
            line: mark.line(),
            column: mark.col() + 1,
        }
    }

    fn scalar_len(&mut self, value: &str, style: TScalarStyle, mark: Marker) -> usize {
        match style {
            TScalarStyle::Plain => value.chars().count().max(1),
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => {
                // Measure the quoted token on its line, so escapes do not skew the caret.
                let quote = if matches!(style, TScalarStyle::SingleQuoted) {
                    '\''
                } else {
                    '"'
                };
                // Only the token itself is scanned: the mark says where it starts.
                let mut chars = self.rest_from(mark.index()).chars();
                let mut len = 1;
                chars.next();
                let mut escaped = false;
                for c in chars {
                    if c == '\n' {
                        break; // a caret marks one line
                    }
                    len += 1;
                    if escaped {
                        escaped = false;
                    } else if c == '\\' && quote == '"' {
                        escaped = true;
                    } else if c == quote {
                        break;
                    }
                }
                len
            }
            _ => 1,
        }
    }

    /// Called at the start of every node: returns the node's path if it is a value.
    fn begin_node(
        &mut self,
        key_text: Option<&str>,
        pos: Position,
        len: usize,
    ) -> Option<FieldPath> {
        match self.stack.last_mut() {
            None => Some(FieldPath::root()),
            Some(Frame::Sequence { path, next }) => {
                let p = path.index(*next);
                *next += 1;
                Some(p)
            }
            Some(Frame::Mapping {
                path,
                pending_key,
                expect_key,
            }) => {
                if *expect_key {
                    *expect_key = false;
                    *pending_key = Some((key_text.unwrap_or("").to_string(), pos, len));
                    None
                } else {
                    *expect_key = true;
                    let (key, key_pos, key_len) = pending_key
                        .take()
                        .unwrap_or_else(|| (String::new(), Position { line: 1, column: 1 }, 1));
                    let p = path.key(&key);
                    self.spans.insert(
                        p.clone(),
                        FieldSpan {
                            key: Some((key_pos, key_len)),
                            value: (pos, len),
                        },
                    );
                    Some(p)
                }
            }
        }
    }
}

impl MarkedEventReceiver for IndexBuilder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = self.position(mark);
        match ev {
            Event::Scalar(value, style, ..) => {
                let len = self.scalar_len(&value, style, mark);
                if let Some(path) = self.begin_node(Some(&value), pos, len) {
                    self.spans.entry(path).or_insert(FieldSpan {
                        key: None,
                        value: (pos, len),
                    });
                }
            }
            Event::Alias(_) => {
                if let Some(path) = self.begin_node(Some("*alias"), pos, 1) {
                    self.spans.entry(path).or_insert(FieldSpan {
                        key: None,
                        value: (pos, 1),
                    });
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_mapping = matches!(ev, Event::MappingStart(..));
                let path = self.begin_node(None, pos, 1).unwrap_or_default();
                self.spans.entry(path.clone()).or_insert(FieldSpan {
                    key: None,
                    value: (pos, 1),
                });
                self.depth += 1;
                if self.depth > MAX_INDEX_DEPTH {
                    return;
                }
                self.stack.push(if is_mapping {
                    Frame::Mapping {
                        path,
                        pending_key: None,
                        expect_key: true,
                    }
                } else {
                    Frame::Sequence { path, next: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if self.depth <= MAX_INDEX_DEPTH {
                    self.stack.pop();
                }
                self.depth = self.depth.saturating_sub(1);
            }
            _ => {}
        }
    }
}

/// A lab file read into memory.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path as the user gave it (used in diagnostics).
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
}

/// Why a lab file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// No file at the path.
    NotFound,
    /// The path is a directory.
    IsDirectory,
    /// The path is something other than a regular file or a directory (a FIFO, a device, a
    /// socket; or a symbolic link where links are refused).
    NotRegular(FileKind),
    /// The file is larger than the limit (more than [`MAX_LAB_BYTES`] for labs and price files);
    /// the size seen (at least the limit + 1 when the file grows while read).
    TooLarge(u64),
    /// The file is not UTF-8 text; the byte offset of the first bad byte.
    NotUtf8(usize),
    /// Any other I/O failure.
    Io(std::io::Error),
}

/// What a path is when it is not a regular file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A FIFO (named pipe).
    Fifo,
    /// A Unix socket.
    Socket,
    /// A block or character device.
    Device,
    /// A symbolic link (only where links are refused).
    Symlink,
    /// A directory.
    Directory,
    /// Anything else that is not a regular file.
    Other,
}

impl FileKind {
    /// What `meta` is, or `None` for a regular file.
    #[must_use]
    pub fn of(meta: &std::fs::Metadata) -> Option<Self> {
        let t = meta.file_type();
        if t.is_file() {
            return None;
        }
        if t.is_symlink() {
            return Some(Self::Symlink);
        }
        if t.is_dir() {
            return Some(Self::Directory);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt as _;
            if t.is_fifo() {
                return Some(Self::Fifo);
            }
            if t.is_socket() {
                return Some(Self::Socket);
            }
            if t.is_block_device() || t.is_char_device() {
                return Some(Self::Device);
            }
        }
        Some(Self::Other)
    }
}

/// Whether a read follows a symbolic link at the path's last component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Links {
    /// Follow it (the lab and price files a user names).
    Follow,
    /// Refuse it as [`FileKind::Symlink`] (files inside the output folder).
    Refuse,
}

/// Read at most `limit` + 1 bytes of a regular file, never blocking.
///
/// The one reader for every file wcigen reads (labs, price files, the manifest and the files
/// `render --check` compares). It refuses what is not a regular file before opening it (so a
/// FIFO or a device is never opened for reading in the normal case), opens with `O_NONBLOCK`
/// (so a FIFO swapped in between the check and the open does not block either) and checks the
/// opened handle again, then reads at most `limit` + 1 bytes (so a file that grows while read,
/// or lies about its size, cannot make wcigen read without end). The answer is shorter than
/// `limit` + 1 bytes exactly when the whole file was read.
///
/// # Errors
/// [`ReadError::NotFound`], [`ReadError::IsDirectory`], [`ReadError::NotRegular`] or
/// [`ReadError::Io`].
pub fn read_prefix(path: &Path, limit: u64, links: Links) -> Result<Vec<u8>, ReadError> {
    use std::io::Read as _;
    let not_found = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound,
        _ => ReadError::Io(e),
    };
    let meta = match links {
        Links::Follow => std::fs::metadata(path),
        Links::Refuse => std::fs::symlink_metadata(path),
    }
    .map_err(not_found)?;
    let refuse = |kind| match kind {
        FileKind::Directory => ReadError::IsDirectory,
        other => ReadError::NotRegular(other),
    };
    if let Some(kind) = FileKind::of(&meta) {
        return Err(refuse(kind));
    }
    let file = open_nonblocking(path, links).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound,
        // O_NOFOLLOW on a link that replaced the file since the check.
        _ if links == Links::Refuse
            && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) =>
        {
            ReadError::NotRegular(FileKind::Symlink)
        }
        _ => ReadError::Io(e),
    })?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if let Some(kind) = FileKind::of(&meta) {
        return Err(refuse(kind));
    }
    let capacity = meta.len().min(limit).saturating_add(1);
    let mut bytes = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    Ok(bytes)
}

/// [`read_prefix`], refusing a file of more than `limit` bytes.
///
/// # Errors
/// As [`read_prefix`], and [`ReadError::TooLarge`].
pub fn read_bounded(path: &Path, limit: u64, links: Links) -> Result<Vec<u8>, ReadError> {
    let bytes = read_prefix(path, limit, links)?;
    if bytes.len() as u64 > limit {
        let seen = std::fs::metadata(path).map_or(0, |m| m.len());
        return Err(ReadError::TooLarge(seen.max(bytes.len() as u64)));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn open_nonblocking(path: &Path, links: Links) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
    if links == Links::Refuse {
        flags |= libc::O_NOFOLLOW;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path, _links: Links) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

impl SourceFile {
    /// Read a lab file, refusing what cannot be a lab before parsing it.
    ///
    /// # Errors
    /// A [`ReadError`] saying why the file cannot be used.
    pub fn read(path: &Path) -> Result<Self, ReadError> {
        let bytes = read_bounded(path, MAX_LAB_BYTES, Links::Follow)?;
        Self::from_bytes(path, bytes)
    }

    /// Build a source from bytes already in memory.
    ///
    /// # Errors
    /// [`ReadError::TooLarge`] or [`ReadError::NotUtf8`].
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self, ReadError> {
        if bytes.len() as u64 > MAX_LAB_BYTES {
            return Err(ReadError::TooLarge(bytes.len() as u64));
        }
        let mut text = String::from_utf8(bytes)
            .map_err(|e| ReadError::NotUtf8(e.utf8_error().valid_up_to()))?;
        if text.starts_with('\u{feff}') {
            text.remove(0);
        }
        Ok(Self {
            path: path.to_path_buf(),
            text,
        })
    }

    /// The 1-based line and column of a byte offset.
    #[must_use]
    pub fn position_of_byte(&self, offset: usize) -> Position {
        let before = &self.text.as_bytes()[..offset.min(self.text.len())];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        Position { line, column }
    }

    /// The text of a 1-based line, if it exists.
    #[must_use]
    pub fn line(&self, line: usize) -> Option<&str> {
        self.text.lines().nth(line.checked_sub(1)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_points_at_keys_and_values() {
        let text = "a: 1\nvm:\n  name: 'x y'\n  list:\n    - p\n    - q\n";
        let index = SpanIndex::build(text);
        let name = index.exact(&FieldPath::parse("vm.name")).unwrap();
        assert_eq!(name.key.unwrap().0, Position { line: 3, column: 3 });
        assert_eq!(name.value, (Position { line: 3, column: 9 }, 5));
        let q = index.exact(&FieldPath::parse("vm.list[1]")).unwrap();
        assert_eq!(q.value.0, Position { line: 6, column: 7 });
        assert_eq!(FieldPath::parse("vm.list[1]").to_string(), "vm.list[1]");
    }

    #[test]
    fn lookup_falls_back_to_ancestor() {
        let index = SpanIndex::build("vm:\n  name: x\n");
        let span = index.lookup(&FieldPath::parse("vm.size")).unwrap();
        assert_eq!(span.key.unwrap().0, Position { line: 1, column: 1 });
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wcigen-source-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_reader_reads_at_most_the_limit_and_one_byte() {
        let dir = temp("limit");
        let path = dir.join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_prefix(&path, 4, Links::Follow).unwrap(), b"01234");
        assert_eq!(
            read_prefix(&path, 10, Links::Follow).unwrap(),
            b"0123456789"
        );
        assert_eq!(
            read_bounded(&path, 10, Links::Follow).unwrap(),
            b"0123456789"
        );
        assert!(matches!(
            read_bounded(&path, 9, Links::Follow),
            Err(ReadError::TooLarge(10))
        ));
        assert!(matches!(
            read_bounded(&dir.join("nope"), 9, Links::Follow),
            Err(ReadError::NotFound)
        ));
        assert!(matches!(
            read_bounded(&dir, 9, Links::Follow),
            Err(ReadError::IsDirectory)
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A file whose size says 0 but that has (or grows) content is still cut at the limit + 1:
    /// the bound does not trust the size the file system reports.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_reader_does_not_trust_the_reported_size() {
        let path = Path::new("/proc/self/status");
        assert_eq!(std::fs::metadata(path).unwrap().len(), 0);
        assert_eq!(read_prefix(path, 4, Links::Follow).unwrap().len(), 5);
        assert!(matches!(
            read_bounded(path, 4, Links::Follow),
            Err(ReadError::TooLarge(5))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn the_reader_refuses_fifos_devices_sockets_and_refused_links_without_blocking() {
        use std::os::unix::fs::symlink;
        let dir = temp("special");
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string; mkfifo only creates a node.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let socket = dir.join("socket");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        symlink(&fifo, dir.join("to-fifo")).unwrap();
        symlink("/dev/zero", dir.join("to-zero")).unwrap();
        std::fs::write(dir.join("file"), "text").unwrap();
        symlink(dir.join("file"), dir.join("to-file")).unwrap();
        symlink(dir.join("nothing"), dir.join("dangling")).unwrap();
        for links in [Links::Follow, Links::Refuse] {
            for (name, kind) in [("fifo", FileKind::Fifo), ("socket", FileKind::Socket)] {
                assert!(
                    matches!(read_bounded(&dir.join(name), 100, links), Err(ReadError::NotRegular(k)) if k == kind),
                    "{name}"
                );
            }
            assert!(matches!(
                read_bounded(Path::new("/dev/zero"), 100, links),
                Err(ReadError::NotRegular(FileKind::Device))
            ));
        }
        // Links: followed to what they name, or refused as links.
        assert!(matches!(
            read_bounded(&dir.join("to-fifo"), 100, Links::Follow),
            Err(ReadError::NotRegular(FileKind::Fifo))
        ));
        assert!(matches!(
            read_bounded(&dir.join("to-zero"), 100, Links::Follow),
            Err(ReadError::NotRegular(FileKind::Device))
        ));
        assert_eq!(
            read_bounded(&dir.join("to-file"), 100, Links::Follow).unwrap(),
            b"text"
        );
        assert!(matches!(
            read_bounded(&dir.join("dangling"), 100, Links::Follow),
            Err(ReadError::NotFound)
        ));
        for name in ["to-fifo", "to-zero", "to-file", "dangling"] {
            assert!(
                matches!(
                    read_bounded(&dir.join(name), 100, Links::Refuse),
                    Err(ReadError::NotRegular(FileKind::Symlink))
                ),
                "{name}"
            );
        }
        // A FIFO swapped in after the check is opened without waiting for a writer, and the
        // opened handle's own metadata shows what it is.
        let handle = open_nonblocking(&fifo, Links::Refuse).unwrap();
        assert_eq!(
            FileKind::of(&handle.metadata().unwrap()),
            Some(FileKind::Fifo)
        );
        // The lab reader uses it.
        assert!(matches!(
            SourceFile::read(&fifo),
            Err(ReadError::NotRegular(FileKind::Fifo))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
