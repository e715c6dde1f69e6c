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
use dsc_helm::{api, chart, manifest, registry, values};

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
