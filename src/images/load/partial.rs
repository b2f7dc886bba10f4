//! Loading only what the node lacks: a containerd content store says which blobs it holds
//! (`ctr content ls -q`), and `ctr images import` of an OCI layout needs only the blobs it does
//! not have — it writes each blob of the archive into the store, names the image from
//! `index.json`, and unpacks from the store, where the other layers already are. So the archive
//! berth built is streamed with the blobs the node holds left out (and without the Docker
//! `manifest.json`, whose layer list containerd would otherwise follow). A one-line change to an
//! app then sends its code layer, config and manifest instead of the base image again.
//!
//! Docker (`docker load`) and Podman/CRI-O (`podman load`) get the whole archive: neither lists
//! its blobs by the digests of an archive's compressed layers (their stores key layers by the
//! uncompressed diff ids), so what they hold cannot be asked before sending; see [`super`].

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::path::Path;

use crate::images::error::ErrorKind;

/// What a partial stream held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    /// Blobs streamed.
    pub blobs: usize,
    /// Blobs the archive holds (streamed or not).
    pub total_blobs: usize,
    /// Bytes of blob content streamed.
    pub bytes: u64,
}

/// The `sha256:…` digests listed by `ctr content ls -q` (one per line).
pub fn parse_content_list(stdout: &str) -> HashSet<String> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("sha256:"))
        .map(str::to_owned)
        .collect()
}

/// Streams the OCI layout of the archive at `archive` into `out`, leaving out the blobs whose
/// digest is in `present` and the Docker `manifest.json`. The entries keep their order.
pub fn write_missing(
    archive: &Path,
    present: &HashSet<String>,
    out: impl Write,
) -> Result<Sent, ErrorKind> {
    let file = std::fs::File::open(archive).map_err(|e| ErrorKind::io("open", archive, e))?;
    let read_err = |e: io::Error| ErrorKind::io("read archive", archive, e);
    let mut source = tar::Archive::new(io::BufReader::with_capacity(1 << 20, file));
    let mut tar = tar::Builder::new(io::BufWriter::with_capacity(1 << 20, out));
    let write_err = |e: io::Error| ErrorKind::Command {
        command: "stream the archive".into(),
        message: e.to_string(),
    };
    let mut sent = Sent::default();
    for entry in source.entries().map_err(read_err)? {
        let mut entry = entry.map_err(read_err)?;
        let path = entry
            .path()
            .map_err(read_err)?
            .to_string_lossy()
            .into_owned();
        if path == "manifest.json" {
            continue;
        }
        if let Some(hex) = path.strip_prefix("blobs/sha256/").filter(|h| !h.is_empty()) {
            sent.total_blobs += 1;
            if present.contains(&format!("sha256:{hex}")) {
                continue;
            }
            sent.blobs += 1;
            sent.bytes += entry.size();
        }
        let mut header = entry.header().clone();
        let mut data = Vec::new();
        let reader: &mut dyn Read = if entry.size() > 1 << 20 {
            &mut entry
        } else {
            entry.read_to_end(&mut data).map_err(read_err)?;
            &mut data.as_slice()
        };
        tar.append_data(&mut header, &path, reader)
            .map_err(write_err)?;
    }
    let mut writer = tar.into_inner().map_err(write_err)?;
    writer.flush().map_err(write_err)?;
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::archive::{ArchiveImage, write_archive};
    use crate::images::image_config::media;
    use crate::images::store::BlobStore;

    #[test]
    fn only_missing_blobs_and_the_oci_layout_are_streamed() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path().join("store")).unwrap();
        let (base, _) = store.put(&vec![7u8; 3 << 20]).unwrap();
        let (code, _) = store.put(b"code-layer").unwrap();
        let (config, _) = store.put(b"{\"config\":1}").unwrap();
        let (manifest, _) = store.put(b"{\"manifest\":1}").unwrap();
        let layers = [base.clone(), code.clone()];
        let image = ArchiveImage {
            reference: "localhost/t/app:0123456789abcdef",
            manifest: &manifest,
            manifest_media_type: media::MANIFEST,
            config: &config,
            layers: &layers,
        };
        let path = dir.path().join("app.tar");
        write_archive(&store, &image, &path, 0).unwrap();

        let present = parse_content_list(&format!("{}\nnot-a-digest\n", base.as_str()));
        assert_eq!(present.len(), 1);
        let mut out = Vec::new();
        let sent = write_missing(&path, &present, &mut out).unwrap();
        assert_eq!(sent.total_blobs, 4);
        assert_eq!(sent.blobs, 3, "code, config and manifest");
        assert!(sent.bytes < 1024, "{sent:?}");

        let mut names = Vec::new();
        let mut archive = tar::Archive::new(out.as_slice());
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            if name == format!("blobs/sha256/{}", code.hex()) {
                assert_eq!(bytes, b"code-layer", "content copied whole");
            }
            names.push(name);
        }
        assert!(names.contains(&"index.json".to_string()));
        assert!(names.contains(&"oci-layout".to_string()));
        assert!(!names.contains(&"manifest.json".to_string()));
        assert!(!names.contains(&format!("blobs/sha256/{}", base.hex())));

        // Nothing present: every blob goes, big ones streamed without buffering.
        let mut all = Vec::new();
        let sent = write_missing(&path, &HashSet::new(), &mut all).unwrap();
        assert_eq!((sent.blobs, sent.total_blobs), (4, 4));
        assert!(sent.bytes > 3 << 20);
    }
}
