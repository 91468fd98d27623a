//! The `stockdata` command-line tool: a thin shell over the `stockdata_app` library. The CLI
//! lives here, in the binary, so no library user can reach it.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
