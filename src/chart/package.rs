//! Deterministic chart packaging: the same files give the same bytes. Entries are
//! sorted, with fixed modes, numeric owner 0 and one modification time; the gzip
//! header carries no file name and no time.

use std::io::Write;

use flate2::{Compression, GzBuilder};

use super::ChartFile;

/// A `helm package`-style archive: every file under `<name>/`, in path order.
/// `mtime` is the entries' modification time (`SOURCE_DATE_EPOCH`, or 0).
pub fn package(name: &str, files: &[ChartFile], mtime: u64) -> std::io::Result<Vec<u8>> {
    let mut sorted: Vec<&ChartFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut archive = tar::Builder::new(Vec::new());
    for file in sorted {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(file.contents.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        archive.append_data(
            &mut header,
            format!("{name}/{}", file.path),
            file.contents.as_bytes(),
        )?;
    }
    let tar = archive.into_inner()?;
    let mut gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::best());
    gz.write_all(&tar)?;
    gz.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<ChartFile> {
        vec![
            ChartFile {
                path: "templates/b.yaml".into(),
                contents: "b".into(),
            },
            ChartFile {
                path: "Chart.yaml".into(),
                contents: "name: x\n".into(),
            },
        ]
    }

    #[test]
    fn same_files_same_bytes_in_any_order() {
        let a = package("x", &files(), 0).unwrap();
        let mut reversed = files();
        reversed.reverse();
        assert_eq!(a, package("x", &reversed, 0).unwrap());
        // gzip magic, deflate, no flags (no name), mtime 0.
        assert_eq!(&a[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn entries_are_sorted_under_the_chart_name() {
        let bytes = package("x", &files(), 42).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        let entries: Vec<(String, u64, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mtime().unwrap(),
                    h.mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            vec![
                ("x/Chart.yaml".to_string(), 42, 0o644),
                ("x/templates/b.yaml".to_string(), 42, 0o644),
            ]
        );
    }
}
