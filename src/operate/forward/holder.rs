//! Who listens on a local TCP port, where the system tells: Linux lists
//! listening sockets in `/proc/net/tcp{,6}` by inode, and each process's open
//! sockets as `/proc/PID/fd/N -> socket:[INODE]` (readable for one's own
//! processes, or as root).

use std::path::Path;

/// The process holding a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// Its command line (or `comm` when the command line is empty).
    pub command: String,
}

/// The socket inodes listening on `port` in a `/proc/net/tcp`-format table.
pub fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let state = fields.get(3)?;
            let inode = fields.get(9)?.parse::<u64>().ok()?;
            let local_port = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
            // 0A: TCP_LISTEN.
            (*state == "0A" && local_port == port && inode != 0).then_some(inode)
        })
        .collect()
}

/// The process listening on `port`, when `/proc` (under `root`) tells.
pub fn port_holder_in(root: &Path, port: u16) -> Option<Holder> {
    let mut inodes = Vec::new();
    for table in ["net/tcp", "net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(root.join(table)) {
            inodes.extend(listening_inodes(&text, port));
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir(root).ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| wanted.iter().any(|w| target.as_os_str() == w.as_str()))
        });
        if holds {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let mut command = cmdline
                .split(|b| *b == 0)
                .filter(|part| !part.is_empty())
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            if command.is_empty() {
                command = std::fs::read_to_string(entry.path().join("comm"))
                    .unwrap_or_default()
                    .trim()
                    .to_string();
            }
            return Some(Holder { pid, command });
        }
    }
    None
}

/// The process listening on `port` on this machine, when it can be told.
pub fn port_holder(port: u16) -> Option<Holder> {
    if cfg!(target_os = "linux") {
        port_holder_in(Path::new("/proc"), port)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_sockets_are_found_by_port_and_state() {
        // The kernel's format (trailing columns cut): 0BB8 = 3000, 1F40 = 8000.
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F40 0100007F:9C4A 01 00000000:00000000 00:00000000 00000000  1000        0 5151 1 0000000000000000 20 4 30 10 -1
   2: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 6161 1 0000000000000000 100 0 0 10 0
";
        assert_eq!(listening_inodes(table, 3000), [4242]);
        assert_eq!(listening_inodes(table, 8000), [6161]);
        assert!(listening_inodes(table, 9000).is_empty());
    }

    #[test]
    fn this_process_is_found_holding_its_own_listener() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = port_holder(port).expect("our own listener is visible in /proc");
        assert_eq!(holder.pid, std::process::id());
        assert!(!holder.command.is_empty());
    }
}
