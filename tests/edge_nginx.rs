//! The edge proxy's configuration, as berth renders it, passes `nginx -t` of a
//! real nginx (Debian's, the one `scripts/images/seed-nginx.sh` puts in the test
//! image), for the shapes routes take. nginx resolves the upstream Service names
//! while checking, so it runs in a private mount namespace whose /etc/hosts
//! names them, with a private /tmp for its temporary paths (needs root, as the
//! images step has). `scripts/images-test.sh` sets BERTH_TEST_NGINX and runs this
//! with `--include-ignored`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use berth::manifests::Manifest;

/// The ConfigMap of the edge, if the render has one.
fn edge_conf(objects: &[Manifest]) -> Option<String> {
    objects.iter().find_map(|o| match o {
        Manifest::ConfigMap(cm) if cm.metadata.name.as_deref() == Some("todo-chatbot-edge") => {
            cm.data.as_ref()?.get("nginx.conf").cloned()
        }
        _ => None,
    })
}

/// The `http://HOST:PORT` upstreams the configuration names.
fn upstream_hosts(conf: &str) -> Vec<String> {
    let mut hosts: Vec<String> = conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("proxy_pass http://"))
        .filter_map(|rest| rest.split(':').next())
        .map(str::to_string)
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

fn nginx_test(nginx: &Path, dir: &Path, conf: &str) -> std::process::Output {
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let hosts: String = upstream_hosts(conf)
        .iter()
        .map(|h| format!("127.0.0.1 {h}\n"))
        .collect();
    let hosts_path = dir.join("hosts");
    std::fs::write(&hosts_path, format!("127.0.0.1 localhost\n{hosts}")).unwrap();
    let script = format!(
        "mount --bind '{}' /etc/hosts && mount -t tmpfs tmpfs /tmp && exec '{}' -t -e stderr -c '{}'",
        hosts_path.display(),
        nginx.display(),
        conf_path.display()
    );
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .expect("unshare runs")
}

fn nginx() -> PathBuf {
    PathBuf::from(std::env::var("BERTH_TEST_NGINX").expect(
        "BERTH_TEST_NGINX: the nginx binary (scripts/images/seed-nginx.sh --binary prints it)",
    ))
}

#[test]
#[ignore = "needs Debian's nginx and root: run scripts/images-test.sh"]
fn rendered_edge_configurations_pass_nginx_t() {
    let nginx = nginx();
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("edge-nginx");
    let cases: &[(&str, &[&str])] = &[
        ("defaults", &[]),
        (
            "strip-and-nested",
            &[
                "expose.routes./api.component=backend",
                "expose.routes./api.stripPrefix=true",
                "expose.routes./api/mcp/=mcp",
                "expose.edge.maxBodySize=0",
            ],
        ),
        (
            "none-mode-odd-paths",
            &[
                "expose.mode=none",
                "expose.routes./a;b{c}=backend",
                "expose.routes./caf%C3%A9=mcp",
                "expose.edge.maxBodySize=512k",
            ],
        ),
    ];
    for (name, sets) in cases {
        let values = common::load(&[], sets, &common::test_env());
        let conf = edge_conf(&common::render(&values))
            .unwrap_or_else(|| panic!("{name}: no edge ConfigMap rendered"));
        let dir = base.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let out = nginx_test(&nginx, &dir, &conf);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.contains("test is successful"),
            "{name}: nginx -t failed:\n{stderr}\n--- nginx.conf ---\n{conf}"
        );
    }
    // The check can fail: a configuration nginx refuses is reported.
    let dir = base.join("broken");
    std::fs::create_dir_all(&dir).unwrap();
    let out = nginx_test(
        &nginx,
        &dir,
        "events {}\nhttp { server { listen 8080; location / { proxy_pass http://; } } }\n",
    );
    assert!(
        !out.status.success(),
        "nginx -t accepted a broken configuration"
    );
}
