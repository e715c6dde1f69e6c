use clap::Parser;

/// dsc-helm: Helm charts as DataScienceCluster components.
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
