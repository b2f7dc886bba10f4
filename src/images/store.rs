//! Content-addressed blob store: `ROOT/blobs/sha256/<hex>`, the same layout as an OCI image layout.
//!
//! Invariant: a file under `blobs/` always hashes to its name. Blobs are written to a temporary
//! file under `ROOT/tmp/`, their digest is checked, and only then are they renamed into place, so
//! an interrupted download or a failed build never leaves a half-written blob that a later build
//! could reuse.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use tempfile::NamedTempFile;

use super::error::ErrorKind;

/// A `sha256:<64 lowercase hex>` content digest.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(String);

impl Digest {
    /// Parse and validate a digest string; only sha256 is supported.
    pub fn parse(s: &str) -> Result<Self, ErrorKind> {
        let hex = s.strip_prefix("sha256:").unwrap_or("");
        if hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(s.to_owned()))
        } else {
            Err(ErrorKind::Malformed {
                what: "digest".into(),
                message: format!("{s:?} is not a sha256 digest"),
            })
        }
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self::from_hasher(Sha256::new_with_prefix(bytes))
    }

    fn from_hasher(hasher: Sha256) -> Self {
        Self(format!("sha256:{}", hex(&hasher.finalize())))
    }

    /// The 64 hex characters after `sha256:`.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// The full `sha256:…` string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lowercase hex encoding.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `Write` adapter that hashes and counts what passes through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wrap `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// Digest and byte count of everything written, plus the inner writer.
    pub fn finish(self) -> (Digest, u64, W) {
        (Digest::from_hasher(self.hasher), self.written, self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The blob store rooted at a directory.
#[derive(Clone, Debug)]
pub struct BlobStore {
    root: PathBuf,
}

/// A blob being written: hash-as-you-go, committed by rename.
pub struct BlobWriter {
    file: HashingWriter<io::BufWriter<NamedTempFile>>,
    store: BlobStore,
}

impl BlobStore {
    /// Open (creating if needed) a store under `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, ErrorKind> {
        let store = Self { root: root.into() };
        for dir in [store.blob_dir(), store.tmp_dir()] {
            fs::create_dir_all(&dir).map_err(|e| ErrorKind::io("create directory", &dir, e))?;
        }
        Ok(store)
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_dir(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    /// Directory for temporary files; on the same filesystem as the blobs so rename is atomic.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Where the blob with `digest` lives (whether or not it exists).
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.blob_dir().join(digest.hex())
    }

    /// Whether the blob is present (and therefore verified).
    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    /// Size of a present blob.
    pub fn size(&self, digest: &Digest) -> Result<u64, ErrorKind> {
        let path = self.path(digest);
        fs::metadata(&path)
            .map(|m| m.len())
            .map_err(|e| ErrorKind::io("stat", path, e))
    }

    /// Read a whole (small) blob such as a manifest or config.
    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>, ErrorKind> {
        let path = self.path(digest);
        fs::read(&path).map_err(|e| ErrorKind::io("read", path, e))
    }

    /// Store `bytes`, returning their digest and size.
    pub fn put(&self, bytes: &[u8]) -> Result<(Digest, u64), ErrorKind> {
        let mut writer = self.writer()?;
        writer
            .write_all(bytes)
            .map_err(|e| ErrorKind::io("write", self.tmp_dir(), e))?;
        writer.commit(None)
    }

    /// Start writing a blob whose digest is known only at the end.
    pub fn writer(&self) -> Result<BlobWriter, ErrorKind> {
        let tmp = NamedTempFile::new_in(self.tmp_dir())
            .map_err(|e| ErrorKind::io("create temporary file in", self.tmp_dir(), e))?;
        Ok(BlobWriter {
            file: HashingWriter::new(io::BufWriter::with_capacity(1 << 20, tmp)),
            store: self.clone(),
        })
    }

    /// A temporary file for an async download; pass it to [`BlobStore::commit_file`] afterwards.
    pub fn temp_file(&self) -> Result<NamedTempFile, ErrorKind> {
        NamedTempFile::new_in(self.tmp_dir())
            .map_err(|e| ErrorKind::io("create temporary file in", self.tmp_dir(), e))
    }

    /// Hash a finished temporary file and move it into place if it matches `expected`.
    pub fn commit_file(&self, tmp: NamedTempFile, expected: &Digest) -> Result<u64, ErrorKind> {
        let (actual, size) = hash_file(tmp.path())?;
        if &actual != expected {
            return Err(ErrorKind::DigestMismatch {
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
        self.persist(tmp, expected)?;
        Ok(size)
    }

    fn persist(&self, tmp: NamedTempFile, digest: &Digest) -> Result<(), ErrorKind> {
        let dest = self.path(digest);
        tmp.persist(&dest)
            .map_err(|e| ErrorKind::io("rename blob to", dest, e.error))?;
        Ok(())
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl BlobWriter {
    /// Finish the blob: check it against `expected` (when given) and rename it into the store.
    pub fn commit(self, expected: Option<&Digest>) -> Result<(Digest, u64), ErrorKind> {
        let tmp_dir = self.store.tmp_dir();
        let (digest, size, buffered) = self.file.finish();
        let tmp = buffered
            .into_inner()
            .map_err(|e| ErrorKind::io("write", &tmp_dir, e.into_error()))?;
        if let Some(expected) = expected.filter(|e| **e != digest) {
            return Err(ErrorKind::DigestMismatch {
                expected: expected.to_string(),
                actual: digest.to_string(),
            });
        }
        if !self.store.contains(&digest) {
            self.store.persist(tmp, &digest)?;
        }
        Ok((digest, size))
    }
}

/// Digest and size of a file's content.
pub fn hash_file(path: &Path) -> Result<(Digest, u64), ErrorKind> {
    let mut file = File::open(path).map_err(|e| ErrorKind::io("open", path, e))?;
    let mut hasher = HashingWriter::new(io::sink());
    io::copy(&mut file, &mut hasher).map_err(|e| ErrorKind::io("read", path, e))?;
    let (digest, size, _) = hasher.finish();
    Ok((digest, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_content_addressed_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let (d1, size) = store.put(b"hello").unwrap();
        let (d2, _) = store.put(b"hello").unwrap();
        assert_eq!(d1, d2);
        assert_eq!(size, 5);
        assert_eq!(
            d1.as_str(),
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(store.read(&d1).unwrap(), b"hello");
    }

    #[test]
    fn mismatching_content_never_enters_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let expected = Digest::of(b"what the registry promised");
        let mut tmp = store.temp_file().unwrap();
        tmp.write_all(b"what actually arrived").unwrap();
        let err = store.commit_file(tmp, &expected).unwrap_err();
        assert!(matches!(err, ErrorKind::DigestMismatch { .. }), "{err}");
        assert!(!store.contains(&expected));
        assert_eq!(
            fs::read_dir(store.tmp_dir()).unwrap().count(),
            0,
            "temp file left behind"
        );

        let mut writer = store.writer().unwrap();
        writer.write_all(b"also wrong").unwrap();
        assert!(writer.commit(Some(&expected)).is_err());
        assert_eq!(fs::read_dir(store.blob_dir()).unwrap().count(), 0);
    }

    #[test]
    fn digest_parse_rejects_path_tricks() {
        assert!(Digest::parse("sha256:../../etc/passwd").is_err());
        assert!(Digest::parse("sha512:abc").is_err());
        let ok = format!("sha256:{}", "a".repeat(64));
        assert_eq!(Digest::parse(&ok).unwrap().hex(), "a".repeat(64));
    }
}
