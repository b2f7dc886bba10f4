//! The exported files checked against the formats as the tools define them.
//! Sources read (GitHub, newest stored snapshot):
//! - kubectl-ai: pkg/tools/custom_tool.go (`CustomToolConfig`: name, description,
//!   command, command_desc, is_interactive; `NewCustomTool` refuses an empty name
//!   or command), pkg/tools/tools.go (`LoadAndRegisterCustomTools`: the file is a
//!   YAML list of them), pkg/mcp/config.go (`Config.servers[]`: name, command,
//!   args, env, url, auth, oauth, timeout, use_streaming; `ValidateServerConfig`:
//!   a name, and a command or a url; names unique).
//! - kagent (kagent-dev/kagent 5229184e): go/api/v1alpha3/remotemcpserver_types.go
//!   (spec.description required, url minLength 1, protocol SSE|STREAMABLE_HTTP,
//!   timeout a metav1.Duration), go/api/v1alpha3/agent_types.go (type
//!   Declarative|BYO; tools[].type McpServer|Agent with mcpServer for McpServer;
//!   toolNames at most 50; requireApproval ⊆ toolNames).

use std::collections::BTreeSet;

use serde_json::Value;

use super::*;

fn settings() -> ExportSettings {
    ExportSettings {
        berth: "berth".into(),
        serve_args: vec!["serve-mcp".into()],
        release: "shop".into(),
        namespace: Some("team-a".into()),
        values_files: vec!["values.yaml".into()],
        mcp_url: "http://host.minikube.internal:8765/mcp".into(),
        kagent_namespace: "kagent".into(),
        model_config: "default-model-config".into(),
        token_secret: "berth-mcp-token".into(),
        gordon: GordonSettings {
            image: "docker.io/library/debian:bookworm-slim".into(),
            berth_path: "/opt/berth/bin/berth".into(),
            kubeconfig: "/home/dev/.kube/config".into(),
        },
    }
}

fn mcp_tools() -> Vec<String> {
    ["diagnose", "diff", "history", "render", "status"]
        .map(String::from)
        .to_vec()
}

fn parsed(path: &str) -> Value {
    let files = export(&settings(), &READ_COMMANDS, &mcp_tools());
    let file = files
        .iter()
        .find(|f| f.path == std::path::Path::new(path))
        .unwrap_or_else(|| panic!("{path} not exported"));
    serde_saphyr::from_str(&file.content).expect("valid YAML")
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .expect("a mapping")
        .keys()
        .map(String::as_str)
        .collect()
}

/// A Go `time.ParseDuration` string as metav1.Duration takes it (the forms we write).
fn is_go_duration(text: &str) -> bool {
    let units = ["ms", "s", "m", "h"];
    let Some(unit) = units.iter().find(|u| text.ends_with(*u)) else {
        return false;
    };
    let number = &text[..text.len() - unit.len()];
    !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
}

#[test]
fn kubectl_ai_custom_tools_follow_custom_tool_config() {
    let tools = parsed("kubectl-ai/tools.yaml");
    let tools = tools.as_array().expect("tools.yaml is a YAML list");
    assert_eq!(tools.len(), READ_COMMANDS.len());
    let allowed = BTreeSet::from([
        "name",
        "description",
        "command",
        "command_desc",
        "is_interactive",
    ]);
    let mut names = BTreeSet::new();
    for tool in tools {
        assert_eq!(keys(tool), allowed, "{tool}");
        for field in ["name", "description", "command", "command_desc"] {
            assert!(
                tool[field].as_str().is_some_and(|s| !s.trim().is_empty()),
                "{field} must be a non-empty string: {tool}"
            );
        }
        assert_eq!(tool["is_interactive"], Value::Bool(false));
        assert!(
            names.insert(tool["name"].as_str().unwrap().to_string()),
            "duplicate {tool}"
        );
        // The release's flags are part of the prefix kubectl-ai keeps.
        let command = tool["command"].as_str().unwrap();
        assert!(command.starts_with("berth "), "{command}");
        assert!(command.contains("--release shop -n team-a"), "{command}");
        assert!(tool["command_desc"].as_str().unwrap().contains(command));
    }
    let render = tools.iter().find(|t| t["name"] == "berth_render").unwrap();
    assert_eq!(
        render["command"],
        "berth render --release shop -n team-a -f values.yaml"
    );
    let status = tools.iter().find(|t| t["name"] == "berth_status").unwrap();
    assert_eq!(status["command"], "berth status --release shop -n team-a");
}

#[test]
fn kubectl_ai_mcp_entry_follows_its_config() {
    let config = parsed("kubectl-ai/mcp.yaml");
    assert_eq!(keys(&config), BTreeSet::from(["servers"]));
    let servers = config["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1);
    let server = &servers[0];
    let known = BTreeSet::from([
        "name",
        "command",
        "args",
        "env",
        "url",
        "auth",
        "oauth",
        "timeout",
        "use_streaming",
    ]);
    assert!(keys(server).is_subset(&known), "{server}");
    assert_eq!(server["name"], "berth");
    assert_eq!(server["command"], "berth");
    assert_eq!(server["args"], serde_json::json!(["serve-mcp"]));
    let env = server["env"].as_object().unwrap();
    assert!(
        env.values().all(Value::is_string),
        "env is map[string]string"
    );
    assert_eq!(env["BERTH_RELEASE"], "shop");
    assert_eq!(env["BERTH_NAMESPACE"], "team-a");
}

#[test]
fn kagent_remote_mcp_server_follows_v1alpha3() {
    let server = parsed("kagent/remote-mcp-server.yaml");
    assert_eq!(server["apiVersion"], "kagent.dev/v1alpha3");
    assert_eq!(server["kind"], "RemoteMCPServer");
    assert_eq!(server["metadata"]["namespace"], "kagent");
    let spec = &server["spec"];
    let known = BTreeSet::from([
        "description",
        "protocol",
        "url",
        "headersFrom",
        "timeout",
        "sseReadTimeout",
        "terminateOnClose",
        "allowedNamespaces",
        "tls",
    ]);
    assert!(keys(spec).is_subset(&known), "{spec}");
    assert!(spec["description"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(spec["protocol"], "STREAMABLE_HTTP");
    let url = spec["url"].as_str().unwrap();
    assert!(
        url.ends_with(crate::mcp::HTTP_PATH),
        "berth mcp serves {}: {url}",
        crate::mcp::HTTP_PATH
    );
    // No TLS block beside an http:// URL (the CRD's CEL rule).
    assert!(spec.get("tls").is_none());
    assert!(is_go_duration(spec["timeout"].as_str().unwrap()), "{spec}");
    assert!(spec["terminateOnClose"].is_boolean());
    // The token comes from a Secret, as the header itself (ValueRef: name and
    // exactly one of value or valueFrom {type Secret|ConfigMap, name, key}).
    let headers = spec["headersFrom"].as_array().unwrap();
    assert_eq!(headers.len(), 1);
    let header = &headers[0];
    assert_eq!(keys(header), BTreeSet::from(["name", "valueFrom"]));
    assert_eq!(header["name"], "Authorization");
    assert_eq!(
        header["valueFrom"],
        serde_json::json!({"type": "Secret", "name": "berth-mcp-token", "key": "authorization"})
    );
    assert!(
        spec["description"]
            .as_str()
            .unwrap()
            .contains("--token-secret kagent/berth-mcp-token"),
        "{spec}"
    );
}

/// Gordon's file as Docker documents it (docs.docker.com/ai/gordon/mcp/yaml:
/// a Compose file; `services.NAME` with `image`, `command`, `volumes`,
/// `environment`); the Compose schema itself is checked by
/// scripts/validate-compose.sh.
#[test]
fn gordon_mcp_yml_is_a_compose_file_running_berth_mcp() {
    let gordon = parsed("gordon/gordon-mcp.yml");
    assert_eq!(keys(&gordon), BTreeSet::from(["services"]));
    let services = gordon["services"].as_object().unwrap();
    assert_eq!(services.len(), 1);
    let berth = &services["berth"];
    let compose_keys =
        BTreeSet::from(["image", "command", "environment", "volumes", "network_mode"]);
    assert_eq!(keys(berth), compose_keys);
    assert_eq!(berth["image"], "docker.io/library/debian:bookworm-slim");
    // Stdio and read-only: the MCP subcommand alone, no --http, no --allow-writes.
    assert_eq!(
        berth["command"],
        serde_json::json!(["/usr/local/bin/berth", "serve-mcp"])
    );
    let volumes: Vec<&str> = berth["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        volumes,
        [
            "/opt/berth/bin/berth:/usr/local/bin/berth:ro",
            "/home/dev/.kube/config:/home/dev/.kube/config:ro"
        ]
    );
    let env = berth["environment"].as_object().unwrap();
    assert_eq!(env["KUBECONFIG"], "/home/dev/.kube/config");
    assert_eq!(env["BERTH_RELEASE"], "shop");
    assert_eq!(env["BERTH_NAMESPACE"], "team-a");
    assert!(env.values().all(Value::is_string));
}

#[test]
fn kagent_agent_uses_the_server_and_its_tools() {
    let agent = parsed("kagent/agent.yaml");
    let server = parsed("kagent/remote-mcp-server.yaml");
    assert_eq!(agent["apiVersion"], "kagent.dev/v1alpha3");
    assert_eq!(agent["kind"], "Agent");
    assert_eq!(
        agent["metadata"]["namespace"],
        server["metadata"]["namespace"]
    );
    let spec = &agent["spec"];
    assert_eq!(spec["type"], "Declarative");
    let declarative = &spec["declarative"];
    assert!(
        declarative["modelConfig"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert!(
        declarative["systemMessage"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let tools = declarative["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0]["type"], "McpServer");
    assert!(
        tools[0].get("agent").is_none(),
        "mcpServer only for type McpServer"
    );
    let mcp = &tools[0]["mcpServer"];
    assert_eq!(mcp["kind"], "RemoteMCPServer");
    assert_eq!(mcp["apiGroup"], "kagent.dev");
    assert_eq!(mcp["name"], server["metadata"]["name"]);
    let names: Vec<&str> = mcp["toolNames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(!names.is_empty() && names.len() <= 50);
    assert_eq!(names, mcp_tools());
}

#[test]
fn the_agent_names_only_tools_the_read_only_server_lists() {
    let server = crate::mcp::BerthServer::new(crate::mcp::ServerSettings {
        cluster: Default::default(),
        context: None,
        release: crate::cli::ReleaseArgs {
            release: Some("shop".into()),
            namespace: None,
        },
        allow_writes: false,
    });
    let listed: Vec<String> = server
        .tools()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    for tool in crate::mcp::WRITE_TOOLS {
        assert!(!listed.iter().any(|n| n == tool), "{tool} listed read-only");
    }
    let files = export(&settings(), &READ_COMMANDS, &listed);
    let agent: Value = serde_saphyr::from_str(&files[3].content).unwrap();
    let named = &agent["spec"]["declarative"]["tools"][0]["mcpServer"]["toolNames"];
    assert_eq!(named, &serde_json::json!(listed));
}
