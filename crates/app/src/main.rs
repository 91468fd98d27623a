//! The `stockdata` command-line tool.

fn main() -> std::process::ExitCode {
    stockdata_app::cli::main()
}
