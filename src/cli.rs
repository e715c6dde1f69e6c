//! Subcommands. `template` and `validate` follow the CLI contract of DESIGN.md, which tests
//! and the conformance tool rely on: defaults match the reference renderer (Kubernetes v1.36.0,
//! its API versions, release revision 1 installing).

use std::mem::ManuallyDrop;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};

use dsc_helm::{api, discovery, reconcile, registry, webhook};
use helm_render::engine::ParsedAhead;
use helm_render::engine::funcs::{OfflineLookup, OsRandom};
use helm_render::render::{self, KubeVersion, Release, Renderer, defaults};
use helm_render::value::Value;
use helm_render::{chart, manifest, template_output, values};

#[derive(Parser)]
#[command(version, about = "Helm charts as DataScienceCluster components")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// Only `serve` outlives its work; every other command exits right after it, so giving
    /// freed memory back to the system would only cost it time.
    pub fn is_long_running(&self) -> bool {
        matches!(self.command, Command::Serve(_))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Render a chart locally, as `helm template` does.
    Template(Box<TemplateArgs>),
    /// Check merged values against the chart's values.schema.json files.
    Validate(ValuesArgs),
    /// CRD YAML for the DataScienceCluster and every registered component kind.
    Crds(ChartsArgs),
    /// List the registered components, their chart versions and kinds.
    Charts(ChartsArgs),
    /// The components' dependency graph (dependsOn), optionally coloured by live readiness.
    Graph(GraphArgs),
    /// The operator's least-privilege ClusterRole for the registered charts.
    Rbac(RbacArgs),
    /// Run the operator: the admission webhook (and, beside it, the reconciler).
    Serve(ServeArgs),
    /// Write a development CA and serving certificate (ca.crt, tls.crt, tls.key).
    Certs(CertsArgs),
}

#[derive(clap::Args)]
struct RbacArgs {
    #[command(flatten)]
    charts: ChartsArgs,
    /// The ClusterRole's name.
    #[arg(long, default_value = "dsc-helm")]
    name: String,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// The umbrella chart directory holding the components.
    #[arg(long, default_value = "charts")]
    charts: PathBuf,
    /// Where component charts are installed (`.Release.Namespace`).
    #[arg(long, default_value = "opendatahub")]
    applications_namespace: String,
    /// The webhook's HTTPS listen address.
    #[arg(long, default_value = "0.0.0.0:9443")]
    webhook_addr: std::net::SocketAddr,
    /// PEM serving certificate (chain); reloaded when it changes.
    #[arg(long, default_value = "certs/tls.crt")]
    tls_cert: PathBuf,
    /// PEM private key of the serving certificate.
    #[arg(long, default_value = "certs/tls.key")]
    tls_key: PathBuf,
    /// A plain-HTTP address for /metrics, /healthz and /readyz (also served over HTTPS).
    #[arg(long)]
    metrics_addr: Option<std::net::SocketAddr>,
    /// Check values against the schemas only, without the dry render.
    #[arg(long)]
    no_dry_render: bool,
    /// Where the operator keeps its own objects: render seeds and the leader-election Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "dsc-helm-system")]
    operator_namespace: String,
    /// This replica's name in the leader-election Lease (default: the host name), to which a
    /// random suffix is added, so that two processes never share an identity.
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Reconcile without leader election: only for a single replica.
    #[arg(long)]
    no_leader_election: bool,
    /// Serve only the webhook, without the reconciler (also without Kubernetes API access).
    #[arg(long)]
    webhook_only: bool,
    /// Object applies and deletes in flight at once, over all components; each component's
    /// own objects go one at a time, so components take turns fairly.
    #[arg(long, default_value_t = reconcile::DEFAULT_CONCURRENT_WRITES)]
    max_concurrent_writes: usize,
    /// The API client's average requests per second (client-side rate limit).
    #[arg(long, default_value_t = dsc_helm::backoff::ClientLimits::default().qps)]
    api_qps: f64,
    /// Requests the API client may send at once after a quiet spell.
    #[arg(long, default_value_t = dsc_helm::backoff::ClientLimits::default().burst)]
    api_burst: u32,
    /// A component whose objects are repaired in more than this many reconciles within
    /// --drift-loop-window-seconds is fighting another writer: `Degraded`, reason `DriftLoop`.
    #[arg(long, default_value_t = reconcile::DEFAULT_DRIFT_LOOP_LIMIT)]
    drift_loop_limit: usize,
    /// The window of --drift-loop-limit; the condition clears once a whole window passes
    /// without a repair.
    #[arg(long, default_value_t = reconcile::DEFAULT_DRIFT_LOOP_WINDOW.as_secs())]
    drift_loop_window_seconds: u64,
}

#[derive(clap::Args)]
struct CertsArgs {
    /// Directory to write ca.crt, tls.crt and tls.key into.
    #[arg(long, default_value = "certs")]
    out: PathBuf,
    /// A DNS name of the serving certificate; repeat for several.
    #[arg(long)]
    dns: Vec<String>,
    /// An IP address of the serving certificate; repeat for several.
    #[arg(long)]
    ip: Vec<std::net::IpAddr>,
}

#[derive(clap::Args)]
struct GraphArgs {
    #[command(flatten)]
    charts: ChartsArgs,
    /// Graphviz dot, or a Mermaid flowchart (rendered by GitHub in Markdown).
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    format: GraphFormat,
    /// Colour each component by its live readiness, read with this kubeconfig.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(clap::Args)]
struct ChartsArgs {
    /// The umbrella chart directory holding the components.
    #[arg(long, default_value = "charts")]
    charts: PathBuf,
}

#[derive(clap::Args)]
struct ValuesArgs {
    /// A chart archive (.tgz) or directory.
    chart: PathBuf,
    /// A values file (YAML or JSON); repeat to layer several, later ones win.
    #[arg(short = 'f', long = "values")]
    values: Vec<PathBuf>,
    #[command(flatten)]
    sets: SetArgs,
}

/// Helm's `--set` family, applied after the `-f` files in Helm's order: `--set-json`,
/// `--set`, `--set-string`, `--set-file`, `--set-literal` (each flag's arguments in order).
#[derive(clap::Args)]
struct SetArgs {
    /// Set a value: a.b=c, list[0]=x, a\.b=c, {a,b}.
    #[arg(long = "set")]
    set: Vec<String>,
    /// Set a value that always stays a string.
    #[arg(long = "set-string")]
    set_string: Vec<String>,
    /// Set a value to a file's text: key=path (`-` reads standard input).
    #[arg(long = "set-file")]
    set_file: Vec<String>,
    /// Set JSON values: key=jsonvalue[,key2=jsonvalue2] or a whole JSON object.
    #[arg(long = "set-json")]
    set_json: Vec<String>,
    /// Set a value to everything after the first `=`, verbatim: no escapes, lists or commas.
    #[arg(long = "set-literal")]
    set_literal: Vec<String>,
}

impl SetArgs {
    /// The merged user values: `files` (already parsed `-f` files) under these flags.
    fn merge(&self, files: &[Value]) -> Result<Value, values::ValuesError> {
        let given = values::CommandLineValues {
            files,
            set_json: &self.set_json,
            set: &self.set,
            set_string: &self.set_string,
            set_file: &self.set_file,
            set_literal: &self.set_literal,
        };
        values::merge_command_line_values(&given, &mut read_set_file)
    }
}

/// Reads a `--set-file` path as Helm does (`-` is standard input), with Go's error text.
fn read_set_file(path: &str) -> Result<String, String> {
    if path.trim() == "-" {
        let mut text = String::new();
        return std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map(|_| text)
            .map_err(|e| format!("read /dev/stdin: {}", go_io_error(&e)));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        let op = if e.kind() == std::io::ErrorKind::IsADirectory {
            "read"
        } else {
            "open"
        };
        format!("{op} {path}: {}", go_io_error(&e))
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `helm template`'s flags with Helm's meaning. Flags that only matter when installing into a
/// cluster are accepted and have no effect on the output, as in `helm template`; flags that
/// need a repository, a plugin or a cluster are refused (see [`unsupported`]).
#[derive(clap::Args)]
struct TemplateArgs {
    /// `[NAME] CHART`: a release name (optional) and a chart archive (.tgz) or directory.
    #[arg(value_name = "NAME_AND_CHART", required = true, num_args = 1..)]
    names: Vec<String>,
    /// A values file (YAML or JSON); repeat, or separate with commas; later ones win.
    #[arg(short = 'f', long = "values", value_delimiter = ',')]
    values: Vec<PathBuf>,
    #[command(flatten)]
    sets: SetArgs,
    /// The release name, like the NAME argument. Helm's `--release-name` (a switch that puts
    /// `--output-dir` files under the release name) is implied.
    #[arg(long, num_args = 0..=1, default_missing_value = "")]
    release_name: Option<String>,
    /// A Go template (with Sprig's functions) that renders the release name, when NAME is
    /// not given.
    #[arg(long)]
    name_template: Option<String>,
    #[arg(long, short = 'n', default_value = "default")]
    namespace: String,
    /// Accepted as `helm template` has it: the release is still called "release-name"
    /// without NAME, and NAME with it is an error.
    #[arg(long, short = 'g', num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    generate_name: bool,
    #[arg(long, value_enum, default_value = "yaml")]
    output: Output,
    /// The Kubernetes version `.Capabilities.KubeVersion` reports.
    #[arg(long, default_value = defaults::DEFAULT_KUBE_VERSION)]
    kube_version: String,
    /// Extra API versions for `.Capabilities.APIVersions` (added to the defaults).
    #[arg(long = "api-versions", short = 'a', value_delimiter = ',')]
    api_versions: Vec<String>,
    /// Only print the manifests of these templates (`templates/x.yaml`, globs as Go's
    /// filepath.Match).
    #[arg(long = "show-only", short = 's')]
    show_only: Vec<String>,
    /// Print the chart tree's `crds/` files first.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    include_crds: bool,
    /// Accepted as Helm does: CRDs are never installed by `template`.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    skip_crds: bool,
    /// Leave out hooks annotated `helm.sh/hook: test`.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    skip_tests: bool,
    /// Leave out every hook.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    no_hooks: bool,
    /// Render as an upgrade (`.Release.IsUpgrade`).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    is_upgrade: bool,
    /// Do not check values against values.schema.json.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    skip_schema_validation: bool,
    /// Write each template's manifests to a file under this directory instead of stdout.
    #[arg(long)]
    output_dir: Option<PathBuf>,
    /// Flags of `helm template` that dsc-helm refuses.
    #[command(flatten)]
    unsupported: UnsupportedTemplateArgs,
    #[command(flatten)]
    no_effect: NoEffectTemplateArgs,
}

/// Flags `helm template` accepts without any effect on what it prints (they matter to
/// `helm install` or to a remote chart only), accepted here for the same command lines.
#[derive(clap::Args)]
struct NoEffectTemplateArgs {
    #[arg(long, hide = true)]
    version: Option<String>,
    #[arg(long, hide = true)]
    devel: bool,
    #[arg(long, hide = true)]
    create_namespace: bool,
    #[arg(long, hide = true)]
    description: Option<String>,
    #[arg(long, hide = true)]
    disable_openapi_validation: bool,
    #[arg(long, hide = true)]
    force_conflicts: bool,
    #[arg(long, hide = true)]
    force_replace: bool,
    #[arg(long, short = 'l', hide = true)]
    labels: Vec<String>,
    #[arg(long, hide = true)]
    replace: bool,
    #[arg(long, hide = true)]
    rollback_on_failure: bool,
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "true")]
    server_side: Option<String>,
    #[arg(long, hide = true)]
    take_ownership: bool,
    #[arg(long, hide = true)]
    timeout: Option<String>,
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "watcher")]
    wait: Option<String>,
    #[arg(long, hide = true)]
    wait_for_jobs: bool,
    #[arg(long, hide = true)]
    hide_notes: bool,
    #[arg(long, hide = true)]
    render_subchart_notes: bool,
    #[arg(long, hide = true)]
    debug: bool,
    #[arg(long, hide = true)]
    kubeconfig: Option<String>,
    #[arg(long, hide = true)]
    kube_context: Option<String>,
}

/// Flags `helm template` has that need what dsc-helm does not do: chart repositories and
/// registries, post-renderer plugins, a cluster. They are parsed so that the refusal names
/// them instead of calling them unknown.
#[derive(clap::Args)]
struct UnsupportedTemplateArgs {
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "")]
    post_renderer: Option<String>,
    #[arg(long, hide = true)]
    post_renderer_args: Vec<String>,
    #[arg(long, hide = true)]
    repo: Option<String>,
    #[arg(long, hide = true)]
    verify: bool,
    #[arg(long, hide = true)]
    dependency_update: bool,
    #[arg(long, hide = true)]
    validate: bool,
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "unset")]
    dry_run: Option<String>,
}

impl UnsupportedTemplateArgs {
    /// The first refused flag given, with why.
    fn refusal(&self) -> Option<String> {
        let flag = |given: bool, name: &str, why: &str| given.then(|| format!("{name}: {why}"));
        let repo =
            "dsc-helm renders local charts only (a directory or .tgz), without chart repositories";
        flag(
            self.post_renderer.is_some() || !self.post_renderer_args.is_empty(),
            "--post-renderer",
            "post-renderer plugins are not supported by dsc-helm",
        )
        .or_else(|| flag(self.repo.is_some(), "--repo", repo))
        .or_else(|| flag(self.verify, "--verify", repo))
        .or_else(|| flag(self.dependency_update, "--dependency-update", repo))
        .or_else(|| {
            flag(
                self.validate || self.dry_run.as_deref().is_some_and(|d| d != "client"),
                if self.validate {
                    "--validate"
                } else {
                    "--dry-run"
                },
                "dsc-helm template renders client-side only, without a cluster",
            )
        })
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    /// What `helm template` prints: each manifest behind `---` and a `# Source:` line.
    Yaml,
    /// Helm's engine result: `{template path: text}` for every non-partial template.
    Json,
}

/// A command line clap rejects. `template` words it as Helm's flag parser does and exits 1, so
/// that a `helm template` command line fails alike; other subcommands keep clap's report.
pub fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    use std::error::Error as _;
    let is_template = std::env::args().nth(1).as_deref() == Some("template");
    let context = |kind| match err.get(kind) {
        Some(ContextValue::String(text)) => Some(text.clone()),
        _ => None,
    };
    // clap names a flag with its value placeholder (`--set <SET>`); pflag by the flag alone.
    let flag = context(ContextKind::InvalidArg).map(|arg| {
        let long = arg
            .split(['=', ' ', '['])
            .next()
            .unwrap_or(&arg)
            .to_string();
        // A short flag left without its value ends the command line; pflag names it so.
        match std::env::args().next_back() {
            Some(last) if last.len() == 2 && last.starts_with('-') && last != "--" => {
                format!("'{}' in {last}", &last[1..])
            }
            _ => long,
        }
    });
    let value = context(ContextKind::InvalidValue);
    match (is_template, err.kind(), flag) {
        (true, ErrorKind::UnknownArgument, Some(_)) => {
            let raw = context(ContextKind::InvalidArg).unwrap_or_default();
            let arg = raw.split('=').next().unwrap_or(&raw);
            match arg.strip_prefix("--") {
                Some(_) => eprintln!("Error: unknown flag: {arg}"),
                None => eprintln!(
                    "Error: unknown shorthand flag: '{}' in {arg}",
                    arg.trim_start_matches('-').chars().next().unwrap_or('-')
                ),
            }
            ExitCode::FAILURE
        }
        (true, ErrorKind::InvalidValue, Some(arg))
            if value.as_deref().is_none_or(str::is_empty) =>
        {
            eprintln!("Error: flag needs an argument: {arg}");
            ExitCode::FAILURE
        }
        (true, ErrorKind::ValueValidation, Some(arg)) => {
            let reason = err.source().map(ToString::to_string).unwrap_or_default();
            let value = value.unwrap_or_default();
            eprintln!("Error: invalid argument \"{value}\" for \"{arg}\" flag: {reason}");
            ExitCode::FAILURE
        }
        (true, ErrorKind::MissingRequiredArgument, _) => {
            eprintln!("Error: \"dsc-helm template\" requires at least 1 argument");
            ExitCode::FAILURE
        }
        _ => {
            let _ = err.print();
            ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2))
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Template(args) => template(*args),
        Command::Validate(args) => validate(args),
        Command::Crds(args) => {
            print!("{}", api::crds_yaml(&registry::load(&args.charts)?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Charts(args) => {
            print!("{}", registry::load(&args.charts)?.listing());
            Ok(ExitCode::SUCCESS)
        }
        Command::Graph(args) => graph(args),
        Command::Rbac(args) => rbac(args),
        Command::Serve(args) => serve(args),
        Command::Certs(args) => {
            let certs = webhook::certs::generate(&args.dns, &args.ip)?;
            webhook::certs::write(&args.out, &certs)?;
            println!(
                "wrote {0}/ca.crt, {0}/tls.crt and {0}/tls.key",
                args.out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn graph(args: GraphArgs) -> anyhow::Result<ExitCode> {
    let registry = registry::load(&args.charts.charts)?;
    let states = match &args.kubeconfig {
        None => Default::default(),
        Some(path) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(live_states(&registry, path))?
        }
    };
    let edges = registry.edges();
    match args.format {
        GraphFormat::Dot => print!("{}", registry::graph::dot(&edges, &states)),
        GraphFormat::Mermaid => print!("{}", registry::graph::mermaid(&edges, &states)),
    }
    Ok(ExitCode::SUCCESS)
}

/// Each component's readiness as its resource reports it: Ready, the reason it is not, or
/// Removed when it has no resource.
async fn live_states(
    registry: &registry::Registry,
    kubeconfig: &std::path::Path,
) -> anyhow::Result<std::collections::BTreeMap<String, registry::graph::NodeState>> {
    use registry::graph::NodeState;
    let file = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    let config =
        kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
            .await
            .with_context(|| format!("using {}", kubeconfig.display()))?;
    let client = kube::Client::try_from(config)?;
    let mut states = std::collections::BTreeMap::new();
    for component in &registry.components {
        let ar = api::component_api_resource(component);
        let resources: kube::Api<kube::api::DynamicObject> =
            kube::Api::all_with(client.clone(), &ar);
        let resource = resources
            .get_opt(&component.singleton_name())
            .await
            .with_context(|| format!("reading {} {}", ar.kind, component.singleton_name()))?;
        let ready = resource.as_ref().and_then(|r| {
            r.data
                .pointer("/status/conditions")?
                .as_array()?
                .iter()
                .find(|c| c["type"] == "Ready")
                .cloned()
        });
        let state = match (resource, ready) {
            (None, _) => NodeState::Removed,
            (Some(_), Some(c)) if c["status"] == "True" => NodeState::Ready,
            (Some(_), Some(c)) => {
                NodeState::NotReady(c["reason"].as_str().unwrap_or("NotReady").to_string())
            }
            (Some(_), None) => NodeState::NotReady("Reconciling".to_string()),
        };
        states.insert(component.name.clone(), state);
    }
    Ok(states)
}

fn rbac(args: RbacArgs) -> anyhow::Result<ExitCode> {
    let registry = registry::load(&args.charts.charts)?;
    let (role, discovered) = dsc_helm::rbac::cluster_role(&registry, &args.name)?;
    for kind in &discovered.unresolved {
        eprintln!(
            "warning: kind {kind} is named without an apiVersion dsc-helm can resolve; \
             add it to the component's `watches` to grant it"
        );
    }
    print!("{}", dsc_helm::rbac::cluster_role_yaml(&role)?);
    Ok(ExitCode::SUCCESS)
}

/// A long-running part of `serve`; the first to end (or fail) ends the process.
type Task = std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>;

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    // RUST_LOG filters as usual (e.g. `dsc_helm=debug`); info by default.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    // Startup errors name the file at fault (FR-008) and stop before anything listens.
    let registry = Arc::new(registry::load(&args.charts)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        // Created first: the API client counts its requests into it.
        let reconcile_metrics = Arc::new(reconcile::Metrics::default());
        let built = match kube::Config::infer().await {
            Ok(config) => {
                let limits = dsc_helm::backoff::ClientLimits {
                    qps: args.api_qps,
                    burst: args.api_burst,
                };
                dsc_helm::backoff::client_with(config, limits, reconcile_metrics.requests.clone())
                    .map_err(anyhow::Error::from)
            }
            Err(e) => Err(anyhow::Error::from(e)),
        };
        let client = match built {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "no Kubernetes API access; the single-DataScienceCluster rule cannot be checked"
                );
                None
            }
        };
        // Dry renders see the live cluster's version and API discovery through the cache the
        // reconciler renders with; without the cluster, the CLI's defaults.
        let cluster = match &client {
            Some(c) => match discovery::Cluster::discover(c.clone()).await {
                Ok(cluster) => Some(Arc::new(cluster)),
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        assumed = defaults::DEFAULT_KUBE_VERSION,
                        "cannot discover the API server; dry renders assume the defaults"
                    );
                    None
                }
            },
            None => None,
        };
        let capabilities = match &cluster {
            Some(c) => c.snapshot().capabilities.clone(),
            None => match KubeVersion::parse(defaults::DEFAULT_KUBE_VERSION) {
                Some(kube) => Arc::new(defaults::capabilities(kube, &[])),
                None => bail!("invalid default Kubernetes version"),
            },
        };
        let cluster_view = webhook::ClusterView::new(capabilities);
        let checks = webhook::Checks {
            dry_render: !args.no_dry_render,
            cache: true,
        };
        let validator = webhook::Validator::with_cluster(
            registry.clone(),
            cluster_view.clone(),
            &args.applications_namespace,
            checks,
        );
        let mut config = webhook::WebhookConfig::new(
            args.webhook_addr,
            webhook::CertFiles {
                cert: args.tls_cert.clone(),
                key: args.tls_key.clone(),
            },
        );
        config.metrics_addr = args.metrics_addr;
        let exported = reconcile_metrics.clone();
        config.extra_metrics = Some(Arc::new(move || exported.render()));
        let server = webhook::Webhook::bind(
            config,
            validator,
            client.clone().map(webhook::dsc_names_from),
        )?;
        tracing::info!(
            components = registry.components.len(),
            address = %args.webhook_addr,
            "webhook serving over HTTPS"
        );
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let webhook_stopped = stopped.clone();
        let mut tasks: Vec<Task> = vec![Box::pin(async move {
            server.run(wait(webhook_stopped)).await?;
            Ok(())
        })];
        // One CRD watch keeps the cache current for both the reconciler and the dry renders,
        // which follow it as CRDs come and go (only with a cluster that answered).
        if let Some(cluster) = cluster.clone() {
            let stopped = stopped.clone();
            let snapshots = cluster.subscribe();
            tasks.push(Box::pin(async move {
                tokio::select! {
                    () = discovery::follow(&cluster) => {}
                    () = webhook::follow_cluster(snapshots, cluster_view) => {}
                    () = wait(stopped) => {}
                }
                Ok(())
            }));
        }
        if !args.webhook_only {
            let Some(client) = client else {
                bail!("the reconciler needs Kubernetes API access (or run with --webhook-only)");
            };
            let identity = unique_identity(args.identity.as_deref())?;
            let options = reconcile::Options {
                applications_namespace: args.applications_namespace.clone(),
                operator_namespace: args.operator_namespace.clone(),
                identity: identity.clone(),
                leader_election: !args.no_leader_election,
                metrics: reconcile_metrics,
                max_concurrent_writes: args.max_concurrent_writes.max(1),
                drift_loop_limit: args.drift_loop_limit,
                drift_loop_window: std::time::Duration::from_secs(
                    args.drift_loop_window_seconds.max(1),
                ),
            };
            tracing::info!(
                components = registry.components.len(),
                applications_namespace = %options.applications_namespace,
                leader_election = options.leader_election,
                "reconciler starting"
            );
            let registry = registry.clone();
            let stopped = stopped.clone();
            let elector = options.leader_election.then(|| {
                reconcile::leader::Elector::new(client.clone(), &args.operator_namespace, &identity)
            });
            // The reconciler stops by being dropped: whatever it was applying is picked up
            // again by the next leader from the objects' state. Then the Lease is given up,
            // so that a standby takes over now rather than when the lease would expire.
            tasks.push(Box::pin(async move {
                // Without a cache that answered at startup, the reconciler retries discovery and
                // keeps a cache of its own; the dry renders stay on the defaults.
                let reconciler = async {
                    match cluster {
                        Some(cluster) => {
                            reconcile::run_on(client, cluster, registry, options).await
                        }
                        None => reconcile::run(client, registry, options).await,
                    }
                };
                tokio::select! {
                    result = reconciler => result?,
                    () = wait(stopped) => {}
                }
                if let Some(elector) = elector {
                    step_down(&elector).await;
                }
                Ok(())
            }));
        }
        run_until_signal(tasks, stop).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The given name (the pod name in a Deployment) or the host name, with a random suffix: a
/// restarted pod keeps its name, and two processes on one host share it, but a Lease holder
/// must be this one process, or a successor would take itself for the leader it replaces.
fn unique_identity(given: Option<&str>) -> anyhow::Result<String> {
    let base = match given.map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => name.to_string(),
        None => std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "dsc-helm".to_string()),
    };
    let mut suffix = [0u8; 4];
    getrandom::fill(&mut suffix).context("drawing the leader identity's random suffix")?;
    let hex: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{base}-{hex}"))
}

/// How long a stopping leader tries to give its Lease up; after that the standby waits for
/// the lease to expire, as after a crash.
const STEP_DOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

async fn step_down(elector: &reconcile::leader::Elector) {
    match tokio::time::timeout(STEP_DOWN_TIMEOUT, elector.release()).await {
        Ok(Ok(true)) => tracing::info!("leader lease released"),
        Ok(Ok(false)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "releasing the leader lease failed"),
        Err(_) => tracing::warn!("releasing the leader lease timed out"),
    }
}

/// Runs the tasks until SIGTERM or Ctrl-C (then lets them stop gracefully) or until one ends.
async fn run_until_signal(
    tasks: Vec<Task>,
    stop: tokio::sync::watch::Sender<bool>,
) -> anyhow::Result<()> {
    let mut set = tokio::task::JoinSet::new();
    for t in tasks {
        set.spawn(t);
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    let first = tokio::select! {
        _ = term.recv() => None,
        _ = tokio::signal::ctrl_c() => None,
        done = set.join_next() => done,
    };
    let _ = stop.send(true);
    if let Some(done) = first {
        done.context("a serve task panicked")??;
    }
    while let Some(done) = set.join_next().await {
        done.context("a serve task panicked")??;
    }
    Ok(())
}

fn load_user_values(args: &ValuesArgs) -> anyhow::Result<Value> {
    let mut files = Vec::new();
    for path in &args.values {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading values file {}", path.display()))?;
        files.push((path.display().to_string(), text));
    }
    let parsed = values::read_values_files(&files)?;
    Ok(args.sets.merge(&parsed)?)
}

fn validate(args: ValuesArgs) -> anyhow::Result<ExitCode> {
    let chart = chart::load(&args.chart)?;
    let user = load_user_values(&args)?;
    let prepared = values::prepare(chart, user)?;
    let violations = values::validate(&prepared);
    if violations.is_empty() {
        println!("values are valid");
        return Ok(ExitCode::SUCCESS);
    }
    for violation in &violations {
        eprintln!("{violation}");
    }
    Ok(ExitCode::FAILURE)
}

fn template(args: TemplateArgs) -> anyhow::Result<ExitCode> {
    if let Some(refusal) = args.unsupported.refusal() {
        bail!("{refusal}");
    }
    let (name, chart_path) = release_and_chart(&args)?;
    let Some(kube) = KubeVersion::parse(&args.kube_version) else {
        bail!(
            "invalid kube version '{0}': could not parse \"{0}\" as version",
            args.kube_version
        );
    };
    locate_chart(&chart_path)?;
    let mut files = Vec::new();
    for path in &args.values {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("open {}: {}", path.display(), go_io_error(&e)))?;
        files.push((path.display().to_string(), text));
    }
    let parsed = values::read_values_files(&files)?;
    let user = args.sets.merge(&parsed)?;
    // The process ends right after printing: what the render built (the chart, the parsed
    // templates, the output) is left for the kernel to take back at exit instead of being
    // freed piece by piece, as Helm, in Go, leaves it too.
    let parsed_ahead = Arc::new(ParsedAhead::new());
    let chart = ManuallyDrop::new(chart::load_parsing_ahead(
        std::path::Path::new(&chart_path),
        &parsed_ahead,
    )?);
    // What `helm template` checks around the engine (installable chart, dependencies present,
    // release name, kubeVersion) is the CLI's: `--output json` reproduces the engine alone.
    let cli_checks = matches!(args.output, Output::Yaml);
    if cli_checks && !matches!(chart.metadata.chart_type.as_str(), "" | "application") {
        bail!("{} charts are not installable", chart.metadata.chart_type);
    }
    let missing: Vec<&str> = chart
        .metadata
        .dependencies
        .iter()
        .map(|d| d.name.as_str())
        .filter(|name| !chart.dependencies.iter().any(|sub| sub.name() == *name))
        .collect();
    if cli_checks && !missing.is_empty() {
        bail!(
            "an error occurred while checking for chart dependencies. You may need to run 'helm \
             dependency build' to fetch missing dependencies: found in Chart.yaml, but missing in \
             charts/ directory: {}",
            missing.join(", ")
        );
    }
    if let Err(e) = validate_release_name(&name)
        && cli_checks
    {
        bail!("release name check failed: release name {name:?}: {e}");
    }
    let capabilities = Arc::new(defaults::capabilities(kube.clone(), &args.api_versions));
    let mut release = Release::install(&name, &args.namespace);
    release.is_install = !args.is_upgrade;
    release.is_upgrade = args.is_upgrade;
    let mut random = OsRandom::new().context("seeding random functions from the OS")?;
    let target = render::Target {
        release: &release,
        capabilities: &capabilities,
        lookup: &OfflineLookup,
    };
    let checks = render::TemplateChecks {
        schema: !args.skip_schema_validation,
        kube_version: cli_checks,
    };
    let renderer = ManuallyDrop::new(Renderer::new().with_parsed_ahead(parsed_ahead));
    let templated = render::template(&renderer, &chart, user, &target, checks, &mut random)
        .map_err(|e| match (&e, args.output) {
            (
                render::TemplateFailure::Render(_) | render::TemplateFailure::KubeVersion { .. },
                Output::Yaml,
            ) => anyhow::anyhow!("{e}\n\nUse --debug flag to render out invalid YAML"),
            _ => e.into(),
        })?;
    if let Output::Json = args.output {
        let rendered = if args.show_only.is_empty() {
            templated.rendered
        } else {
            manifest::show_only(templated.rendered, &args.show_only)?
        };
        println!("{}", serde_json::to_string(&rendered)?);
        return Ok(ExitCode::SUCCESS);
    }
    let templated = ManuallyDrop::new(templated);
    let rendered = &templated.rendered;
    // Only `--include-crds` prints them; copying a chart's CRDs (kube-prometheus-stack's are
    // 4.5 MB) for nothing cost a twentieth of the command.
    let crds = if args.include_crds {
        crd_files(&templated.chart)
    } else {
        Vec::new()
    };
    let options = template_output::Options {
        include_crds: args.include_crds,
        no_hooks: args.no_hooks,
        skip_tests: args.skip_tests,
        show_only: args.show_only.clone(),
    };
    let debug_hint = |e: template_output::OutputError| match e {
        e @ template_output::OutputError::Yaml { .. } => {
            anyhow::anyhow!("{e}\n\nUse --debug flag to render out invalid YAML")
        }
        e => e.into(),
    };
    match &args.output_dir {
        None => {
            let out = template_output::stdout(rendered, &crds, &options).map_err(debug_hint)?;
            let out = ManuallyDrop::new(out);
            print!("{}", *out);
        }
        Some(dir) => {
            let writes = template_output::files(rendered, &crds, &options).map_err(debug_hint)?;
            let release_dir = args.release_name.is_some().then_some(name.as_str());
            write_output_dir(dir, release_dir, &writes)?;
            if !args.show_only.is_empty() {
                let first = &args.show_only[0];
                bail!("could not find template {first} in chart");
            }
            println!();
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Helm's `[NAME] CHART` with `--release-name NAME` kept as the older spelling of NAME.
fn release_and_chart(args: &TemplateArgs) -> anyhow::Result<(String, String)> {
    let flag_name = args.release_name.as_deref().filter(|n| !n.is_empty());
    let name_template = args.name_template.as_deref().filter(|t| !t.is_empty());
    match args.names.as_slice() {
        [name, chart] => {
            if args.generate_name {
                bail!("cannot set --generate-name and also specify a name");
            }
            if name_template.is_some() {
                bail!("cannot set --name-template and also specify a name");
            }
            Ok((name.clone(), chart.clone()))
        }
        [chart] => {
            if let Some(template) = name_template {
                let mut random = OsRandom::new().context("seeding random functions from the OS")?;
                let name = render::template_name(template, &mut random)?;
                return Ok((name, chart.clone()));
            }
            if let Some(name) = flag_name {
                return Ok((name.to_string(), chart.clone()));
            }
            // `helm template CHART` installs as "release-name", even with --generate-name:
            // Helm's default name comes before the generated one.
            Ok(("release-name".to_string(), chart.clone()))
        }
        [_, _, extra @ ..] => bail!(
            "expected at most two arguments, unexpected arguments: {}",
            extra.join(", ")
        ),
        [] => bail!("\"dsc-helm template\" requires at least 1 argument"),
    }
}

/// A boolean flag's value as Go's `strconv.ParseBool` reads it (`--include-crds=false`).
fn go_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing {text:?}: invalid syntax"
        )),
    }
}

/// Helm's `LocateChart` for what dsc-helm can load: a chart that exists on disk. Any other
/// name would be a chart repository or registry reference.
fn locate_chart(name: &str) -> anyhow::Result<()> {
    let name = name.trim();
    if std::path::Path::new(name).exists() {
        return Ok(());
    }
    if std::path::Path::new(name).is_absolute() || name.starts_with('.') {
        bail!("path {name:?} not found");
    }
    if !name.contains('/') {
        bail!("non-absolute URLs should be in form of repo_name/path_to_chart, got: {name}");
    }
    bail!(
        "chart {name:?} is not a local path: dsc-helm renders local charts only (a directory or \
         .tgz), without chart repositories or registries"
    )
}

/// The words Go's `os` package uses for the common I/O errors.
fn go_io_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "is a directory".to_string(),
        _ => e.to_string(),
    }
}

/// Helm's release name rule: a DNS-1123 subdomain of at most 53 characters.
fn validate_release_name(name: &str) -> Result<(), &'static str> {
    const PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
    if name.is_empty() {
        return Err("no name provided");
    }
    let valid = regex::Regex::new(PATTERN).is_ok_and(|re| re.is_match(name));
    if name.len() > 53 || !valid {
        return Err(
            "invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53",
        );
    }
    Ok(())
}

/// The `crds/` files of the enabled chart tree, parents first, named by their chart's path.
fn crd_files(chart: &chart::Chart) -> Vec<template_output::CrdFile> {
    let mut out = Vec::new();
    collect_crds(chart, chart.name(), &mut out);
    out
}

fn collect_crds(chart: &chart::Chart, path: &str, out: &mut Vec<template_output::CrdFile>) {
    for file in chart.crds() {
        let ext = file
            .name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase());
        if matches!(ext.as_deref(), Some("yaml" | "yml" | "json")) {
            out.push(template_output::CrdFile {
                filename: format!("{path}/{}", file.name),
                text: String::from_utf8_lossy(&file.data).into_owned(),
            });
        }
    }
    for dep in &chart.dependencies {
        collect_crds(dep, &format!("{path}/charts/{}", dep.name()), out);
    }
}

/// Writes `--output-dir` files as Helm does, printing `wrote PATH` for each.
fn write_output_dir(
    dir: &std::path::Path,
    release_dir: Option<&str>,
    writes: &[template_output::FileWrite],
) -> anyhow::Result<()> {
    use std::io::Write;
    for w in writes {
        let base = match (w.in_release_dir, release_dir) {
            (true, Some(release)) => dir.join(release).display().to_string(),
            _ => dir.display().to_string(),
        };
        let path = format!("{base}/{}", w.name);
        if let Some(parent) = std::path::Path::new(&path).parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let append = match w.append {
            template_output::Append::Yes => true,
            template_output::Append::No => false,
            template_output::Append::IfExists => std::path::Path::new(&path).exists(),
        };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(!append)
            .truncate(!append)
            .append(append)
            .open(&path)
            .with_context(|| format!("open {path}"))?;
        write!(file, "---\n# Source: {}\n{}\n", w.name, w.text)
            .with_context(|| format!("writing {path}"))?;
        println!("wrote {path}");
    }
    Ok(())
}
