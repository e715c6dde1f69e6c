//! Subcommands. `template` and `validate` follow the CLI contract of DESIGN.md, which tests
//! and the conformance tool rely on: defaults match the reference renderer (Kubernetes v1.36.0,
//! its API versions, release revision 1 installing).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};

use dsc_helm::engine::funcs::{OfflineLookup, OsRandom};
use dsc_helm::render::{self, KubeVersion, Release, Renderer, Target, defaults};
use dsc_helm::value::Value;
use dsc_helm::{api, chart, manifest, reconcile, registry, values, webhook};

#[derive(Parser)]
#[command(version, about = "Helm charts as DataScienceCluster components")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render a chart locally, as `helm template` does.
    Template(TemplateArgs),
    /// Check merged values against the chart's values.schema.json files.
    Validate(ValuesArgs),
    /// CRD YAML for the DataScienceCluster and every registered component kind.
    Crds(ChartsArgs),
    /// List the registered components, their chart versions and kinds.
    Charts(ChartsArgs),
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
    /// This replica's name in the leader-election Lease (default: host name and process id).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Reconcile without leader election: only for a single replica.
    #[arg(long)]
    no_leader_election: bool,
    /// Serve only the webhook, without the reconciler (also without Kubernetes API access).
    #[arg(long)]
    webhook_only: bool,
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
    /// Set a value: a.b=c, list[0]=x, a\.b=c, {a,b}.
    #[arg(long = "set")]
    set: Vec<String>,
    /// Set a value that always stays a string.
    #[arg(long = "set-string")]
    set_string: Vec<String>,
}

#[derive(clap::Args)]
struct TemplateArgs {
    #[command(flatten)]
    values: ValuesArgs,
    #[arg(long, default_value = "release-name")]
    release_name: String,
    #[arg(long, short = 'n', default_value = "default")]
    namespace: String,
    #[arg(long, value_enum, default_value = "yaml")]
    output: Output,
    /// The Kubernetes version `.Capabilities.KubeVersion` reports.
    #[arg(long, default_value = defaults::DEFAULT_KUBE_VERSION)]
    kube_version: String,
    /// Extra API versions for `.Capabilities.APIVersions` (added to the defaults).
    #[arg(long = "api-versions")]
    api_versions: Vec<String>,
    /// Only print the given template paths (`templates/x.yaml` or the full path).
    #[arg(long = "show-only")]
    show_only: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    /// What `helm template` prints: each manifest behind `---` and a `# Source:` line.
    Yaml,
    /// Helm's engine result: `{template path: text}` for every non-partial template.
    Json,
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Template(args) => template(args),
        Command::Validate(args) => validate(args),
        Command::Crds(args) => {
            print!("{}", api::crds_yaml(&registry::load(&args.charts)?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Charts(args) => {
            print!("{}", registry::load(&args.charts)?.listing());
            Ok(ExitCode::SUCCESS)
        }
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
        let client = match kube::Client::try_default().await {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "no Kubernetes API access; the single-DataScienceCluster rule cannot be checked"
                );
                None
            }
        };
        // Dry renders see the live cluster's version and API discovery, as the reconciler's
        // renders do; without the cluster, the CLI's defaults.
        let discovered = match &client {
            Some(c) => match reconcile::cluster::Cluster::discover(c.clone()).await {
                Ok(cluster) => Some((c.clone(), cluster.snapshot().capabilities.clone())),
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
        let capabilities = match &discovered {
            Some((_, c)) => c.clone(),
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
        let reconcile_metrics = Arc::new(reconcile::Metrics::default());
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
        // Dry renders follow CRDs as they come and go (only with a cluster that answered).
        if let Some((follow_client, _)) = discovered {
            let stopped = stopped.clone();
            tasks.push(Box::pin(async move {
                tokio::select! {
                    () = webhook::follow_cluster(follow_client, cluster_view) => {}
                    () = wait(stopped) => {}
                }
                Ok(())
            }));
        }
        if !args.webhook_only {
            let Some(client) = client else {
                bail!("the reconciler needs Kubernetes API access (or run with --webhook-only)");
            };
            let options = reconcile::Options {
                applications_namespace: args.applications_namespace.clone(),
                operator_namespace: args.operator_namespace.clone(),
                identity: args.identity.clone().unwrap_or_else(default_identity),
                leader_election: !args.no_leader_election,
                metrics: reconcile_metrics,
            };
            tracing::info!(
                components = registry.components.len(),
                applications_namespace = %options.applications_namespace,
                leader_election = options.leader_election,
                "reconciler starting"
            );
            let registry = registry.clone();
            let stopped = stopped.clone();
            // The reconciler stops by being dropped: whatever it was applying is picked up
            // again by the next leader from the objects' state.
            tasks.push(Box::pin(async move {
                tokio::select! {
                    result = reconcile::run(client, registry, options) => result?,
                    () = wait(stopped) => {}
                }
                Ok(())
            }));
        }
        run_until_signal(tasks, stop).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The host name and process id: unique per replica, readable in the Lease.
fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("{}-{}", host.trim(), std::process::id())
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
    Ok(values::merge_user_values(
        &parsed,
        &args.set,
        &args.set_string,
    )?)
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
    let chart = chart::load(&args.values.chart)?;
    let user = load_user_values(&args.values)?;
    let Some(kube) = KubeVersion::parse(&args.kube_version) else {
        bail!("invalid --kube-version {:?}", args.kube_version);
    };
    let capabilities = Arc::new(defaults::capabilities(kube, &args.api_versions));
    let release = Release::install(&args.release_name, &args.namespace);
    let target = Target {
        release: &release,
        capabilities: &capabilities,
        lookup: &OfflineLookup,
    };
    let mut random = OsRandom::new().context("seeding random functions from the OS")?;
    let rendered = render::template(&Renderer::new(), &chart, user, &target, &mut random)?;
    let rendered = manifest::show_only(rendered, &args.show_only)?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string(&rendered)?),
        Output::Yaml => print!("{}", manifest::helm_template_output(&rendered)),
    }
    Ok(ExitCode::SUCCESS)
}
