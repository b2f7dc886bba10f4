//! File systems where change events do not arrive: WSL2's drvfs (`/mnt/c`: Windows sends
//! none, microsoft/WSL#4739), network and shared-folder file systems (a change made on another
//! machine, or by the host of a VM, raises no inotify event here). There the watcher polls.

use std::path::Path;

/// `statfs(2)` `f_type` values of file systems whose remote changes raise no events.
const NO_EVENTS: &[(i64, &str)] = &[
    (0x6969, "NFS"),
    (0x517B, "SMB"),
    (0xFF53_4D42, "CIFS"),
    (0xFE53_4D42, "SMB2"),
    (0x0102_1997, "9p (WSL2 drvfs, VM shares)"),
    (0x6A65_6A63, "virtiofs (VM shares)"),
    (0x786F_4256, "VirtualBox shared folder"),
    (0x5346_414F, "AFS"),
    (0x00C3_6400, "CephFS"),
];

/// Why `path` must be polled, when it must.
pub fn polling_reason(path: &Path) -> Option<String> {
    if let Some(drive) = wsl_drive(path, &wsl_kernel()) {
        return Some(format!(
            "{} is on WSL2's drvfs (/mnt/{drive}), which reports no changes",
            path.display()
        ));
    }
    let name = filesystem_name(filesystem_type(path)?)?;
    Some(format!(
        "{} is on {name}, which reports no changes made elsewhere",
        path.display()
    ))
}

fn filesystem_name(kind: i64) -> Option<&'static str> {
    NO_EVENTS.iter().find(|(k, _)| *k == kind).map(|(_, n)| *n)
}

/// The drive letter of `/mnt/<letter>/…` on a WSL kernel.
fn wsl_drive(path: &Path, kernel: &str) -> Option<char> {
    let kernel = kernel.to_ascii_lowercase();
    if !kernel.contains("microsoft") && !kernel.contains("wsl") {
        return None;
    }
    let rest = path.strip_prefix("/mnt").ok()?;
    let first = rest.components().next()?.as_os_str().to_str()?;
    let mut chars = first.chars();
    match (chars.next(), chars.next()) {
        (Some(letter), None) if letter.is_ascii_alphabetic() => Some(letter),
        _ => None,
    }
}

fn wsl_kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default()
}

#[cfg(target_os = "linux")]
fn filesystem_type(path: &Path) -> Option<i64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a zeroed statfs the call fills in.
    let rc = unsafe { libc::statfs(c_path.as_ptr(), &mut stat) };
    #[allow(clippy::unnecessary_cast)] // f_type's integer type differs between targets
    (rc == 0).then_some(stat.f_type as i64)
}

#[cfg(not(target_os = "linux"))]
fn filesystem_type(_path: &Path) -> Option<i64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wsl_drvfs_paths_are_polled_only_on_a_wsl_kernel() {
        let wsl = "5.15.153.1-microsoft-standard-WSL2";
        assert_eq!(wsl_drive(Path::new("/mnt/c/Users/me/app"), wsl), Some('c'));
        assert_eq!(wsl_drive(Path::new("/mnt/wsl/x"), wsl), None);
        assert_eq!(wsl_drive(Path::new("/home/me/app"), wsl), None);
        assert_eq!(wsl_drive(Path::new("/mnt/c/app"), "6.1.0-13-amd64"), None);
    }

    #[test]
    fn network_file_systems_are_named_and_local_ones_are_not_polled() {
        assert_eq!(filesystem_name(0x6969), Some("NFS"));
        assert_eq!(filesystem_name(0xEF53), None, "ext4");
        // This machine's temporary directory is local (tmpfs or a disk).
        let dir = tempfile::tempdir().unwrap();
        assert!(filesystem_type(dir.path()).is_some());
        assert_eq!(polling_reason(dir.path()), None);
    }
}
