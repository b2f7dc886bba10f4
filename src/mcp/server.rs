//! The MCP server: one short tool per berth operation, each a call into the
//! library returning its result as structured content.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};

use super::inputs::{
    DeployInput, DiagnoseInput, ImagesChoice, LogsInput, ReleaseInput, RollbackInput, ScaleInput,
    ValuesInput,
};
use super::outputs::{Change, DeployOutput, DiffOutput, HistoryOutput, RenderOutput, StatusOutput};
use super::scale;
use crate::apply::{self, Cause, DeployOptions, Release};
use crate::cli::{ReleaseArgs, hints, settings};
use crate::cluster::retry::Reporter;
use crate::cluster::{self, ClusterTarget};
use crate::manifests::{self, RenderContext};
use crate::operate;
use crate::operate::diagnose::Diagnosis;
use crate::operate::doctor::DoctorReport;
use crate::operate::logs::{LogOptions, Logs};
use crate::pipeline::{self, ImageSources, ImagesMode, Prepared};
use crate::values::{ProcessEnv, ValueSources, Values};
use crate::wizard::ContextChoice;

/// The tools that change the cluster: offered only with `--allow-writes`.
pub const WRITE_TOOLS: [&str; 3] = ["deploy", "rollback", "scale"];

/// Lines per container when the agent does not say (a tool answer, not a dump).
const LOG_TAIL: i64 = 100;

/// What the server was started with.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub cluster: ClusterTarget,
    /// The chosen kubeconfig context, when the kubeconfig names one (images and hints).
    pub context: Option<ContextChoice>,
    /// Default release and namespace of every tool.
    pub release: ReleaseArgs,
    pub allow_writes: bool,
}

/// A tool's result; its failure is the text the agent reads (with the CLI's hint).
/// (Tool signatures spell it out: rmcp derives output schemas from their syntax.)
type ToolResult<T> = Result<Json<T>, String>;

#[derive(Clone)]
pub struct BerthServer {
    settings: Arc<ServerSettings>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl BerthServer {
    pub fn new(settings: ServerSettings) -> Self {
        let mut tool_router = Self::tool_router();
        if !settings.allow_writes {
            for name in WRITE_TOOLS {
                tool_router.disable_route(name);
            }
        }
        BerthServer {
            settings: Arc::new(settings),
            tool_router,
        }
    }

    /// The tools this server offers (what `tools/list` answers).
    pub fn tools(&self) -> Vec<rmcp::model::Tool> {
        self.tool_router.list_all()
    }

    #[tool(
        description = "Render the Kubernetes objects a deploy would apply, in apply order, from the embedded defaults (or ./berth.yaml) plus values files and --set assignments. Secret values are redacted. No cluster needed.",
        annotations(read_only_hint = true)
    )]
    async fn render(
        &self,
        Parameters(input): Parameters<ValuesInput>,
    ) -> Result<Json<RenderOutput>, String> {
        let (mut values, ctx) = self.values(&input).map_err(failed)?;
        values.fill_generated();
        let mut objects = manifests::render(&values, &ctx);
        manifests::redact_secrets(&mut objects);
        Ok(Json(RenderOutput {
            release: ctx.release.clone(),
            namespace: ctx.namespace.clone(),
            objects: objects.iter().map(manifests::Manifest::to_json).collect(),
        }))
    }

    #[tool(
        description = "Show what a deploy with these values would change in the cluster (server-side dry-run): per object the action and a unified diff with Secret values masked, and the objects it would prune.",
        annotations(read_only_hint = true)
    )]
    async fn diff(
        &self,
        Parameters(input): Parameters<ValuesInput>,
    ) -> Result<Json<DiffOutput>, String> {
        let server = self.clone();
        off_thread(move || async move { server.diff_plan(input).await }).await
    }

    #[tool(
        description = "The release's workloads (ready/desired, restarts, images), its current revision, the URLs to reach it, and the root cause (with a fix) of every workload that cannot become ready.",
        annotations(read_only_hint = true)
    )]
    async fn status(
        &self,
        Parameters(input): Parameters<ReleaseInput>,
    ) -> Result<Json<StatusOutput>, String> {
        let release = self.release(&input)?;
        let client = self.client().await?;
        let status = apply::status(&client, &release)
            .await
            .map_err(|e| failed(e.into()))?;
        let root_causes = self.diagnosis(&client, &release, None).await?.causes;
        Ok(Json(StatusOutput {
            status,
            root_causes,
        }))
    }
    #[tool(
        description = "The release's revisions, oldest first: number, status (deployed, superseded, failed, pending), time and berth version.",
        annotations(read_only_hint = true)
    )]
    async fn history(
        &self,
        Parameters(input): Parameters<ReleaseInput>,
    ) -> Result<Json<HistoryOutput>, String> {
        let release = self.release(&input)?;
        let client = self.client().await?;
        let revisions = apply::history(&client, &release)
            .await
            .map_err(|e| failed(e.into()))?;
        Ok(Json(HistoryOutput {
            release: release.name,
            namespace: release.namespace,
            revisions,
        }))
    }

    #[tool(
        description = "Explain why a release (or one component) is not healthy: the ranked root causes berth detects (ImagePullBackOff, CrashLoopBackOff, OOMKilled, unschedulable, quota or admission refusals, missing Secrets) with a fix for each.",
        annotations(read_only_hint = true)
    )]
    async fn diagnose(
        &self,
        Parameters(input): Parameters<DiagnoseInput>,
    ) -> Result<Json<Diagnosis>, String> {
        let release = self.release(&input.target)?;
        let client = self.client().await?;
        let component = input.component.as_deref();
        Ok(Json(self.diagnosis(&client, &release, component).await?))
    }

    #[tool(
        description = "The last lines of the release's containers (or one component's), merged in time order, each with its pod and container; `previous` reads the crashed instance. Says which containers could not be read.",
        annotations(read_only_hint = true)
    )]
    async fn logs(&self, Parameters(input): Parameters<LogsInput>) -> Result<Json<Logs>, String> {
        let release = self.release(&input.target)?;
        let client = self.client().await?;
        let options = LogOptions {
            tail: input.options.tail.or(Some(LOG_TAIL)),
            ..input.options
        };
        operate::logs::fetch(&client, &release, &options)
            .await
            .map(Json)
            .map_err(|e| failed(e.into()))
    }

    #[tool(
        description = "Check what commonly stops a deploy, as `berth doctor`: kubeconfig and API server, node capacity against the stack's requests, StorageClass, metrics-server, exposure and NodePort, images on the node, Minikube driver, Pod Security, CoreDNS. Each check pass/warn/fail with a fix.",
        annotations(read_only_hint = true)
    )]
    async fn doctor(
        &self,
        Parameters(input): Parameters<ValuesInput>,
    ) -> Result<Json<DoctorReport>, String> {
        let (mut values, ctx) = self.values_unchecked(&input).map_err(failed)?;
        values.fill_generated();
        let cluster = operate::access::access(
            &self.settings.cluster,
            self.settings.context.clone(),
            stderr_reporter(),
        )
        .await;
        let build_tools = operate::doctor::build_tools::uses_here(&values);
        let input = operate::doctor::DoctorInput {
            values,
            ctx,
            cluster,
            host_os: std::env::consts::OS.to_string(),
            build_tools,
        };
        Ok(Json(operate::doctor::run(&input).await))
    }

    #[tool(
        description = "Deploy the stack with these values (server-side apply, prune, a new revision) and wait until it is ready; returns what changed and, when it is not ready, the root cause. Changes the cluster.",
        annotations(destructive_hint = true, read_only_hint = false)
    )]
    async fn deploy(
        &self,
        Parameters(input): Parameters<DeployInput>,
    ) -> Result<Json<DeployOutput>, String> {
        let server = self.clone();
        off_thread(move || async move { server.deploy_now(input).await }).await
    }

    #[tool(
        description = "Roll the release back to a recorded revision (default: the previous deployed one), re-applied as a new revision. Changes the cluster.",
        annotations(destructive_hint = true, read_only_hint = false)
    )]
    async fn rollback(
        &self,
        Parameters(input): Parameters<RollbackInput>,
    ) -> Result<Json<DeployOutput>, String> {
        let server = self.clone();
        off_thread(move || async move { server.rollback_now(input).await }).await
    }

    #[tool(
        description = "Scale one component to a number of replicas: the current revision re-applied with that change and recorded as a new revision (refused when an autoscaler owns the replicas). Changes the cluster.",
        annotations(destructive_hint = false, read_only_hint = false)
    )]
    async fn scale(
        &self,
        Parameters(input): Parameters<ScaleInput>,
    ) -> Result<Json<DeployOutput>, String> {
        let server = self.clone();
        off_thread(move || async move { server.scale_now(input).await }).await
    }
}

impl BerthServer {
    async fn deploy_now(&self, input: DeployInput) -> ToolResult<DeployOutput> {
        let (values, ctx) = self.values(&input.values).map_err(failed)?;
        let images = match input.images {
            ImagesChoice::Auto => ImagesMode::Auto,
            ImagesChoice::Build => ImagesMode::Build,
            ImagesChoice::Load => ImagesMode::Load,
            ImagesChoice::Skip => ImagesMode::Skip,
        }
        .resolve(self.settings.context.as_ref(), values.registry.is_some());
        pipeline::images::check_mode(images, &values).map_err(|e| failed(e.into()))?;
        let client = self.client().await?;
        // Specs live in images/ beside the team's berth.yaml, as for the CLI.
        let sources = ImageSources {
            root: crate::values::load::stack_file_here()
                .as_deref()
                .and_then(std::path::Path::parent)
                .filter(|d| !d.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf),
            ..ImageSources::default()
        };
        let options = DeployOptions {
            wait: wait_for(input.timeout_seconds),
            ..write_options()
        };
        let report = pipeline::deploy_values(
            &client,
            values,
            &ctx,
            images,
            &sources,
            &crate::images::Progress::quiet(),
            &options,
            &mut |_| {},
        )
        .await
        .map_err(|e| failed(e.into()))?;
        let namespace = ctx.namespace.clone();
        Ok(Json(DeployOutput::from_report(report, |c| {
            self.hint(c, &namespace)
        })))
    }

    async fn rollback_now(&self, input: RollbackInput) -> ToolResult<DeployOutput> {
        let release = self.release(&input.target)?;
        let client = self.client().await?;
        let target = apply::rollback_target(&client, &release, input.revision)
            .await
            .map_err(|e| failed(e.into()))?;
        let prepared = Prepared {
            release: release.clone(),
            objects: target.objects,
            revision: target.content,
        };
        self.apply(&client, prepared, target.also_owned).await
    }

    async fn scale_now(&self, input: ScaleInput) -> ToolResult<DeployOutput> {
        if input.replicas > 50 {
            return Err(format!(
                "replicas: {} is out of range; allowed: 0 to 50",
                input.replicas
            ));
        }
        let release = self.release(&input.target)?;
        let client = self.client().await?;
        let plan = scale::plan(&client, &release, &input.component, input.replicas)
            .await
            .map_err(|e| failed(e.into()))?;
        self.apply(&client, plan.prepared, plan.also_owned).await
    }
    async fn diff_plan(&self, input: ValuesInput) -> ToolResult<DiffOutput> {
        let (values, ctx) = self.values(&input).map_err(failed)?;
        let client = self.client().await?;
        let prepared = pipeline::prepare(&client, values, &ctx)
            .await
            .map_err(|e| failed(e.into()))?;
        let plan = apply::plan(&client, &prepared.objects, &prepared.release, false)
            .await
            .map_err(|e| failed(e.into()))?;
        let changes: Vec<Change> = plan
            .changes()
            .map(|planned| Change {
                object: planned.desired.key.to_string(),
                action: planned.action.verb().to_string(),
                diff: apply::diff::object_diff(planned).unwrap_or_default(),
            })
            .collect();
        Ok(Json(DiffOutput {
            no_changes: plan.is_noop(),
            unchanged: plan.objects.len() - changes.len(),
            prune: plan.prune.iter().map(ToString::to_string).collect(),
            changes,
        }))
    }

    fn values(&self, input: &ValuesInput) -> anyhow::Result<(Values, RenderContext)> {
        settings::load_values(&sources(input), &self.release_args(&input.target))
    }

    /// The values with missing secrets allowed (doctor reports them as a check).
    fn values_unchecked(&self, input: &ValuesInput) -> anyhow::Result<(Values, RenderContext)> {
        let values = crate::values::load_unchecked_secrets(&sources(input), &ProcessEnv)?;
        let ctx = settings::render_context(&values, &self.release_args(&input.target))?;
        Ok((values, ctx))
    }

    fn release_args(&self, input: &ReleaseInput) -> ReleaseArgs {
        ReleaseArgs {
            release: input
                .release
                .clone()
                .or_else(|| self.settings.release.release.clone()),
            namespace: input
                .namespace
                .clone()
                .or_else(|| self.settings.release.namespace.clone()),
        }
    }

    fn release(&self, input: &ReleaseInput) -> Result<Release, String> {
        settings::release_of(&self.release_args(input)).map_err(failed)
    }

    async fn client(&self) -> Result<kube::Client, String> {
        cluster::connect(&self.settings.cluster, stderr_reporter())
            .await
            .map(|c| c.client)
            .map_err(|e| failed(e.into()))
    }

    fn minikube(&self) -> bool {
        self.settings
            .context
            .as_ref()
            .is_some_and(|c| c.local == Some("minikube"))
    }

    fn hint(&self, cause: &Cause, namespace: &str) -> String {
        hints::for_cause(cause, namespace, self.minikube())
    }

    /// The release's diagnosis (one analysis, as `berth diagnose`), with the CLI's fix hints.
    async fn diagnosis(
        &self,
        client: &kube::Client,
        release: &Release,
        component: Option<&str>,
    ) -> Result<Diagnosis, String> {
        let mut diagnosis = operate::diagnose::run(client, release, component)
            .await
            .map_err(|e| failed(e.into()))?;
        hints::fill_diagnosis_hints(&mut diagnosis, self.minikube());
        Ok(diagnosis)
    }

    /// Applies recorded objects (rollback, scale) through the pipeline, keeping `also_owned`.
    async fn apply(
        &self,
        client: &kube::Client,
        prepared: Prepared,
        also_owned: Vec<apply::ObjectKey>,
    ) -> ToolResult<DeployOutput> {
        let namespace = prepared.release.namespace.clone();
        let options = DeployOptions {
            also_owned,
            ..write_options()
        };
        let report = pipeline::apply_prepared(client, prepared, &options, &mut |_| {})
            .await
            .map_err(|e| failed(e.into()))?;
        Ok(Json(DeployOutput::from_report(report, |c| {
            self.hint(c, &namespace)
        })))
    }
}

/// Runs `work` on a blocking thread of the runtime and waits for it. The
/// pipeline's futures borrow across awaits in ways the compiler cannot prove
/// `Send` for every lifetime (the CLI drives them with `block_on`); rmcp's
/// handlers must be `Send`, so they are driven here the CLI's way.
async fn off_thread<T, F, Fut>(work: F) -> ToolResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ToolResult<T>>,
{
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(work()))
        .await
        .map_err(|e| format!("the tool stopped unexpectedly: {e}"))?
}

/// The CLI's defaults for a write: no forcing, no recreating, no data deleted.
fn write_options() -> DeployOptions {
    DeployOptions {
        force_conflicts: false,
        recreate: false,
        delete_data: false,
        wait: wait_for(None),
        history_max: 10,
        revision: Default::default(),
        also_owned: vec![],
    }
}

fn wait_for(seconds: Option<u64>) -> Option<Duration> {
    match seconds.unwrap_or(300) {
        0 => None,
        s => Some(Duration::from_secs(s)),
    }
}

/// The error as the CLI prints it: the chain, then its hint.
fn sources(input: &ValuesInput) -> ValueSources {
    ValueSources {
        stack: crate::values::load::stack_file_here(),
        files: input.values_files.iter().map(PathBuf::from).collect(),
        set: input.set.clone(),
        set_string: input.set_string.clone(),
        ..ValueSources::default()
    }
}

/// Retry lines go to stderr: stdout carries the protocol over stdio.
fn stderr_reporter() -> Reporter {
    Reporter::new(crate::ui::status)
}

fn failed(err: anyhow::Error) -> String {
    let text = crate::ui::error_messages(&err).join(": ");
    match crate::cli::error_hints::of_chain(&err) {
        Some(hint) => format!("{text}\nhint: {hint}"),
        None => text,
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for BerthServer {
    fn get_info(&self) -> ServerConfig {
        let writes = if self.settings.allow_writes {
            "deploy, rollback and scale change the cluster."
        } else {
            "Read-only: deploy, rollback and scale need `berth mcp --allow-writes`."
        };
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("berth", env!("CARGO_PKG_VERSION")))
            .with_instructions(format!(
                "berth operates one release of a web stack on Kubernetes. Start with `status`; `diagnose` explains an unhealthy release; `diff` previews a deploy. {writes}"
            ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if !self.settings.allow_writes && WRITE_TOOLS.contains(&request.name.as_ref()) {
            return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                "refused: `{}` changes the cluster, and this server is read-only; restart it with `berth mcp --allow-writes` to allow deploy, rollback and scale",
                request.name
            ))])
            .into());
        }
        let tcc = ToolCallContext::new(self, request, context);
        self.tool_router.call(tcc).await
    }
}
