//! Archive writer: one uncompressed tar holding an OCI image layout (`oci-layout`, `index.json`,
//! `blobs/sha256/…`) and a Docker `manifest.json`, the format `ctr images import`, `docker load`
//! and `podman load` all accept (an image index for several platforms gets the OCI layout only). Entries are sorted, with fixed owner, modes and mtime, so the
//! same image always gives the same archive bytes.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::Path;

use serde_json::json;

use super::error::ErrorKind;
use super::image_config::media;
use super::store::{BlobStore, Digest};

/// Annotation containerd uses for the image name on import.
pub const CONTAINERD_IMAGE_NAME: &str = "io.containerd.image.name";
/// OCI annotation for the reference name (the tag) in an index.
pub const OCI_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// What an archive holds: one image.
#[derive(Clone, Debug)]
pub struct ArchiveImage<'a> {
    /// Full reference, `registry/repo:tag`.
    pub reference: &'a str,
    /// Manifest digest (the manifest blob must be in the store).
    pub manifest: &'a Digest,
    /// Manifest media type.
    pub manifest_media_type: &'a str,
    /// Config digest.
    pub config: &'a Digest,
    /// Layer digests in order.
    pub layers: &'a [Digest],
}

/// Write the archive for `image` to `path` (atomically: temp file, then rename). Returns its size.
pub fn write_archive(
    store: &BlobStore,
    image: &ArchiveImage<'_>,
    path: &Path,
    mtime: u64,
) -> Result<u64, ErrorKind> {
    let blobs: Vec<&Digest> = image
        .layers
        .iter()
        .chain([image.config, image.manifest])
        .collect();
    let descriptor = (
        image.manifest_media_type,
        image.manifest,
        store.size(image.manifest)?,
    );
    let files = [
        ("index.json", index_json(image.reference, descriptor)),
        ("manifest.json", docker_manifest_json(image)),
    ];
    write_layout(store, blobs, &files, path, mtime)
}

/// Write an archive of the image index `index` over `images` (one per platform) to `path`: an
/// OCI layout only, since Docker's `manifest.json` cannot describe an index. Returns its size.
pub fn write_index_archive(
    store: &BlobStore,
    reference: &str,
    index: &Digest,
    images: &[ArchiveImage<'_>],
    path: &Path,
    mtime: u64,
) -> Result<u64, ErrorKind> {
    let mut blobs: Vec<&Digest> = vec![index];
    for image in images {
        blobs.extend(image.layers.iter().chain([image.config, image.manifest]));
    }
    let descriptor = (media::INDEX, index, store.size(index)?);
    write_layout(
        store,
        blobs,
        &[("index.json", index_json(reference, descriptor))],
        path,
        mtime,
    )
}

/// The tar of an OCI layout: `blobs` (sorted, without duplicates), the top-level `files` and
/// `oci-layout`, written atomically to `path`.
fn write_layout(
    store: &BlobStore,
    mut blobs: Vec<&Digest>,
    files: &[(&str, Vec<u8>)],
    path: &Path,
    mtime: u64,
) -> Result<u64, ErrorKind> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| ErrorKind::io("create directory", dir, e))?;
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| ErrorKind::io("create temporary file in", dir, e))?;
    let file = tmp
        .reopen()
        .map_err(|e| ErrorKind::io("open", tmp.path(), e))?;
    let mut tar = tar::Builder::new(BufWriter::with_capacity(1 << 20, file));
    let io_err = |e| ErrorKind::io("write archive", path, e);
    blobs.sort();
    blobs.dedup();

    append_dir(&mut tar, "blobs/", mtime).map_err(io_err)?;
    append_dir(&mut tar, "blobs/sha256/", mtime).map_err(io_err)?;
    for digest in &blobs {
        let source = store.path(digest);
        let file = File::open(&source).map_err(|e| ErrorKind::io("open blob", &source, e))?;
        let size = file
            .metadata()
            .map_err(|e| ErrorKind::io("stat", &source, e))?
            .len();
        append_file(
            &mut tar,
            &format!("blobs/sha256/{}", digest.hex()),
            size,
            file,
            mtime,
        )
        .map_err(io_err)?;
    }
    let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
    for (name, bytes) in files
        .iter()
        .map(|(n, b)| (*n, &b[..]))
        .chain([("oci-layout", &layout[..])])
    {
        append_file(&mut tar, name, bytes.len() as u64, bytes, mtime).map_err(io_err)?;
    }
    let mut writer = tar.into_inner().map_err(io_err)?;
    io::Write::flush(&mut writer).map_err(io_err)?;
    drop(writer);
    let size = fs::metadata(tmp.path())
        .map_err(|e| ErrorKind::io("stat", tmp.path(), e))?
        .len();
    publish(tmp, path)?;
    Ok(size)
}

/// Make a finished temporary file world-readable (runtimes may read it as another user) and
/// rename it to `path`.
pub fn publish(tmp: tempfile::NamedTempFile, path: &Path) -> Result<(), ErrorKind> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644))
            .map_err(|e| ErrorKind::io("set permissions of", tmp.path(), e))?;
    }
    tmp.persist(path)
        .map_err(|e| ErrorKind::io("rename to", path, e.error))?;
    Ok(())
}

/// `index.json` naming one manifest or index `(media type, digest, size)` as `reference`.
fn index_json(reference: &str, (media_type, digest, size): (&str, &Digest, u64)) -> Vec<u8> {
    json!({
        "schemaVersion": 2,
        "mediaType": media::INDEX,
        "manifests": [{
            "mediaType": media_type,
            "digest": digest.as_str(),
            "size": size,
            "annotations": {
                CONTAINERD_IMAGE_NAME: reference,
                OCI_REF_NAME: tag_of(reference),
            },
        }],
    })
    .to_string()
    .into_bytes()
}

/// The tag of `registry[:port]/repo:tag` (empty for digest-only references).
fn tag_of(reference: &str) -> &str {
    let name = reference.split('@').next().unwrap_or("");
    match name.rsplit_once(':') {
        Some((_, tag)) if !tag.contains('/') && !reference.contains('@') => tag,
        _ => "",
    }
}

fn docker_manifest_json(image: &ArchiveImage<'_>) -> Vec<u8> {
    let blob = |d: &Digest| format!("blobs/sha256/{}", d.hex());
    json!([{
        "Config": blob(image.config),
        "RepoTags": [image.reference],
        "Layers": image.layers.iter().map(blob).collect::<Vec<_>>(),
    }])
    .to_string()
    .into_bytes()
}

fn header(kind: tar::EntryType, mode: u32, size: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(mtime);
    h
}

fn append_dir<W: io::Write>(tar: &mut tar::Builder<W>, path: &str, mtime: u64) -> io::Result<()> {
    tar.append_data(
        &mut header(tar::EntryType::Directory, 0o755, 0, mtime),
        path,
        io::empty(),
    )
}

fn append_file<W: io::Write, R: io::Read>(
    tar: &mut tar::Builder<W>,
    path: &str,
    size: u64,
    data: R,
    mtime: u64,
) -> io::Result<()> {
    tar.append_data(
        &mut header(tar::EntryType::Regular, 0o644, size, mtime),
        path,
        data,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn archive_holds_both_layouts_in_sorted_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path().join("store")).unwrap();
        let (layer, _) = store.put(b"layer-bytes").unwrap();
        let (config, _) = store.put(b"{\"config\":true}").unwrap();
        let (manifest, manifest_size) = store.put(b"{\"manifest\":true}").unwrap();
        let layers = [layer.clone()];
        let image = ArchiveImage {
            reference: "localhost/t/app:0123456789abcdef",
            manifest: &manifest,
            manifest_media_type: media::MANIFEST,
            config: &config,
            layers: &layers,
        };
        let a = dir.path().join("a.tar");
        let b = dir.path().join("b.tar");
        write_archive(&store, &image, &a, 0).unwrap();
        write_archive(&store, &image, &b, 0).unwrap();
        assert_eq!(
            fs::read(&a).unwrap(),
            fs::read(&b).unwrap(),
            "archives must be byte-identical"
        );

        let mut archive = tar::Archive::new(File::open(&a).unwrap());
        let mut names = Vec::new();
        let mut index = String::new();
        let mut docker = String::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            match name.as_str() {
                "index.json" => entry.read_to_string(&mut index).map(|_| ()).unwrap(),
                "manifest.json" => entry.read_to_string(&mut docker).map(|_| ()).unwrap(),
                _ => {}
            }
            names.push(name);
        }
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert!(names.contains(&format!("blobs/sha256/{}", layer.hex())));
        assert_eq!(names.last().unwrap(), "oci-layout");
        let index: serde_json::Value = serde_json::from_str(&index).unwrap();
        let entry = &index["manifests"][0];
        assert_eq!(entry["digest"], manifest.as_str());
        assert_eq!(entry["size"], manifest_size);
        assert_eq!(
            entry["annotations"][CONTAINERD_IMAGE_NAME],
            "localhost/t/app:0123456789abcdef"
        );
        assert_eq!(entry["annotations"][OCI_REF_NAME], "0123456789abcdef");
        let docker: serde_json::Value = serde_json::from_str(&docker).unwrap();
        assert_eq!(docker[0]["RepoTags"][0], "localhost/t/app:0123456789abcdef");
        assert_eq!(tag_of("127.0.0.1:5000/a/b:v1"), "v1");
        assert_eq!(tag_of("127.0.0.1:5000/a/b"), "");
        assert_eq!(
            docker[0]["Config"],
            format!("blobs/sha256/{}", config.hex())
        );
    }
}
