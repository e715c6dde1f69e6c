//! The `dsc-helm` command line: the binary's edge, where errors become exit codes.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(err) => return cli::usage_error(err),
    };
    if args.is_long_running() {
        dsc_helm::return_freed_memory_promptly();
    } else {
        dsc_helm::keep_freed_memory();
    }
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("Error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
