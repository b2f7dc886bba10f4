//! Loading only what the node lacks: a containerd content store says which blobs it holds
//! (`ctr content ls -q`), and `ctr images import` of an OCI layout needs only the blobs it does
//! not have — it writes each blob of the archive into the store, names the image from
//! `index.json`, and unpacks from the store, where the other layers already are. So the archive
//! berth built is streamed with the blobs the node holds left out (and without the Docker
//! `manifest.json`, whose layer list containerd would otherwise follow). A one-line change to an
//! app then sends its code layer, config and manifest instead of the base image again.
//!
//! Docker's classic store keys layers by their chain id (the diff ids of a layer and of those
//! under it, hashed together), which `docker image inspect` gives for every image it holds; and
//! `docker load` of the archive's `manifest.json` registers a layer only when its chain is not
//! there yet, reading the layer's file only then. So the archive is streamed with the layer files
//! of the chains Docker holds left out. (Docker's containerd store would refuse such an archive;
//! the whole one follows, see [`super`].)
//!
//! Podman/CRI-O (`podman load`) get the whole archive: their store cannot be asked by these
//! digests before sending.

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::images::error::ErrorKind;

/// What a node's runtime holds already, as it can say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Held {
    /// containerd: the digests of the blobs in its content store.
    Blobs(HashSet<String>),
    /// Docker: the chain ids of the layers in its store.
    Chains(HashSet<String>),
}

impl Held {
    pub fn is_empty(&self) -> bool {
        match self {
            Held::Blobs(set) | Held::Chains(set) => set.is_empty(),
        }
    }
}

/// The chain id of each layer of an image whose layers have `diff_ids` (bottom first): the first
/// layer's diff id, then `sha256(parent's chain id + " " + diff id)`.
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut chains: Vec<String> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let chain = match chains.last() {
            None => diff_id.clone(),
            Some(parent) => format!(
                "sha256:{}",
                hex::encode(Sha256::digest(format!("{parent} {diff_id}")))
            ),
        };
        chains.push(chain);
    }
    chains
}

/// The chain ids of every layer of the images whose `docker image inspect --format '{{json
/// .RootFS.Layers}}'` lines are `stdout` (one JSON array of diff ids per image).
pub fn parse_docker_layers(stdout: &str) -> HashSet<String> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Vec<String>>(line.trim()).ok())
        .flat_map(|diff_ids| chain_ids(&diff_ids))
        .collect()
}

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

/// Streams the archive at `archive` into `out` with what `held` says the node has left out:
/// for containerd the OCI layout without the blobs it holds and without the Docker
/// `manifest.json`; for Docker the archive without the layer files of the chains it holds
/// (`layers`: the image's layer digests, bottom first). The entries keep their order.
pub fn write_missing(
    archive: &Path,
    held: &Held,
    layers: &[String],
    out: impl Write,
) -> Result<Sent, ErrorKind> {
    match held {
        Held::Blobs(present) => stream(archive, out, |path| {
            path != "manifest.json" && blob_digest(path).is_none_or(|d| !present.contains(&d))
        }),
        Held::Chains(chains) => {
            let skip = layers_held(archive, layers, chains)?;
            stream(archive, out, |path| {
                blob_digest(path).is_none_or(|d| !skip.contains(&d))
            })
        }
    }
}

/// An archive entry's path as text.
fn entry_path<R: Read>(entry: &tar::Entry<R>) -> io::Result<String> {
    Ok(entry.path()?.to_string_lossy().into_owned())
}

/// `sha256:HEX` for an archive path `blobs/sha256/HEX`.
fn blob_digest(path: &str) -> Option<String> {
    let hex = path
        .strip_prefix("blobs/sha256/")
        .filter(|h| !h.is_empty())?;
    Some(format!("sha256:{hex}"))
}

/// The layer blobs Docker need not be sent: those whose chain it holds, unless the same blob is
/// also a layer whose chain it lacks. The diff ids come from the config `manifest.json` names.
fn layers_held(
    archive: &Path,
    layers: &[String],
    chains: &HashSet<String>,
) -> Result<HashSet<String>, ErrorKind> {
    let read_err = |e: io::Error| ErrorKind::io("read archive", archive, e);
    let invalid = |what: &str| {
        read_err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{what} in manifest.json or the image config"),
        ))
    };
    let mut files = std::collections::HashMap::new();
    let file = std::fs::File::open(archive).map_err(|e| ErrorKind::io("open", archive, e))?;
    let mut source = tar::Archive::new(io::BufReader::new(file));
    let mut manifest: Option<serde_json::Value> = None;
    // manifest.json, then the config it names: small files, read in one pass each.
    for entry in source.entries().map_err(read_err)? {
        let mut entry = entry.map_err(read_err)?;
        let path = entry_path(&entry).map_err(read_err)?;
        if path == "manifest.json" || (entry.size() < 1 << 20 && path.starts_with("blobs/")) {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).map_err(read_err)?;
            if path == "manifest.json" {
                manifest = serde_json::from_slice(&data).ok();
            } else {
                files.insert(path, data);
            }
        }
    }
    let manifest = manifest.ok_or_else(|| invalid("no manifest"))?;
    let config = manifest[0]["Config"]
        .as_str()
        .ok_or_else(|| invalid("no Config"))?;
    let config: serde_json::Value = files
        .get(config)
        .and_then(|data| serde_json::from_slice(data).ok())
        .ok_or_else(|| invalid("no config"))?;
    let diff_ids: Vec<String> = serde_json::from_value(config["rootfs"]["diff_ids"].clone())
        .map_err(|_| invalid("no rootfs.diff_ids"))?;
    if diff_ids.len() != layers.len() {
        return Err(invalid("a layer count that differs"));
    }
    let chain = chain_ids(&diff_ids);
    let (held, lacking): (Vec<usize>, Vec<usize>) =
        (0..layers.len()).partition(|&i| chains.contains(&chain[i]));
    let needed: HashSet<&String> = lacking.iter().map(|&i| &layers[i]).collect();
    Ok(held
        .into_iter()
        .map(|i| &layers[i])
        .filter(|digest| !needed.contains(digest))
        .cloned()
        .collect())
}

/// Copies the entries of `archive` for which `send` holds to `out`, counting the blobs.
fn stream(archive: &Path, out: impl Write, send: impl Fn(&str) -> bool) -> Result<Sent, ErrorKind> {
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
        let path = entry_path(&entry).map_err(read_err)?;
        let is_blob = blob_digest(&path).is_some();
        sent.total_blobs += usize::from(is_blob);
        if !send(&path) {
            continue;
        }
        if is_blob {
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
    use crate::images::store::{self, BlobStore};

    /// An archive of an image with a 3 MB base layer and a small code layer, and `config`; with
    /// the directory holding it and the two layers' digests.
    fn archive(config: &[u8]) -> (tempfile::TempDir, std::path::PathBuf, [store::Digest; 2]) {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path().join("store")).unwrap();
        let (base, _) = store.put(&vec![7u8; 3 << 20]).unwrap();
        let (code, _) = store.put(b"code-layer").unwrap();
        let (config, _) = store.put(config).unwrap();
        let (manifest, _) = store.put(b"{\"manifest\":1}").unwrap();
        let layers = [base, code];
        let image = ArchiveImage {
            reference: "localhost/t/app:0123456789abcdef",
            manifest: &manifest,
            manifest_media_type: media::MANIFEST,
            config: &config,
            layers: &layers,
        };
        let path = dir.path().join("app.tar");
        write_archive(&store, &image, &path, 0).unwrap();
        (dir, path, layers)
    }

    #[test]
    fn only_missing_blobs_and_the_oci_layout_are_streamed() {
        let (_dir, path, [base, code]) = archive(b"{\"config\":1}");

        let present = parse_content_list(&format!("{}\nnot-a-digest\n", base.as_str()));
        assert_eq!(present.len(), 1);
        let mut out = Vec::new();
        let sent = write_missing(&path, &Held::Blobs(present), &[], &mut out).unwrap();
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
        let sent = write_missing(&path, &Held::Blobs(HashSet::new()), &[], &mut all).unwrap();
        assert_eq!((sent.blobs, sent.total_blobs), (4, 4));
        assert!(sent.bytes > 3 << 20);
    }

    #[test]
    fn chain_ids_hash_each_diff_id_onto_its_parents_chain() {
        let diff = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let chains = chain_ids(&[diff('a'), diff('b'), diff('c')]);
        assert_eq!(
            chains[0],
            diff('a'),
            "the bottom layer's chain is its diff id"
        );
        let second = hex::encode(Sha256::digest(format!("{} {}", diff('a'), diff('b'))));
        assert_eq!(chains[1], format!("sha256:{second}"));
        let third = hex::encode(Sha256::digest(format!("{} {}", chains[1], diff('c'))));
        assert_eq!(chains[2], format!("sha256:{third}"));
        // Two images listed by `docker image inspect`, one line each; a line that is not JSON
        // (an error on stdout) adds nothing.
        let listed = format!(
            "[\"{}\",\"{}\"]\nnot json\n[\"{}\"]\n",
            diff('a'),
            diff('b'),
            diff('d')
        );
        let held = parse_docker_layers(&listed);
        assert_eq!(
            held,
            HashSet::from([diff('a'), chains[1].clone(), diff('d')])
        );
    }

    #[test]
    fn docker_gets_the_layers_of_the_chains_it_lacks_and_the_manifest() {
        // Stand-in diff ids: what is tested is the chain arithmetic, not decompression.
        let (base_diff, code_diff) = (
            format!("sha256:{}", "1".repeat(64)),
            format!("sha256:{}", "2".repeat(64)),
        );
        let config =
            serde_json::json!({"rootfs": {"type": "layers", "diff_ids": [base_diff, code_diff]}});
        let (_dir, path, layers) = archive(config.to_string().as_bytes());
        let [base, code] = &layers;
        let digests: Vec<String> = layers.iter().map(|d| d.as_str().to_string()).collect();
        let chains = chain_ids(&[base_diff.clone(), code_diff.clone()]);

        // Docker holds the base's chain (an earlier image on the same base).
        let held = Held::Chains(HashSet::from([chains[0].clone()]));
        let mut out = Vec::new();
        let sent = write_missing(&path, &held, &digests, &mut out).unwrap();
        assert_eq!(
            (sent.blobs, sent.total_blobs),
            (3, 4),
            "code, config, manifest"
        );
        assert!(sent.bytes < 1024, "{sent:?}");
        let names: Vec<String> = tar::Archive::new(out.as_slice())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(names.contains(&"manifest.json".to_string()), "{names:?}");
        assert!(!names.contains(&format!("blobs/sha256/{}", base.hex())));
        assert!(names.contains(&format!("blobs/sha256/{}", code.hex())));

        // The code layer's diff id alone, on another parent, is not its chain: all is sent.
        let held = Held::Chains(HashSet::from([code_diff.clone()]));
        let sent = write_missing(&path, &held, &digests, &mut Vec::new()).unwrap();
        assert_eq!((sent.blobs, sent.total_blobs), (4, 4));
        // A layer list that does not match the config is refused (the whole archive follows).
        let held = Held::Chains(HashSet::from([chains[0].clone()]));
        assert!(write_missing(&path, &held, &digests[..1], &mut Vec::new()).is_err());
    }
}
