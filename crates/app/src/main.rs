//! The `stockdata` command-line tool.

use clap::Parser;

/// Market data (quotes, OHLCV bars, company news) from Alpha Vantage, Finnhub, Alpaca and a
/// serverless fetcher, as one typed stream.
#[derive(Debug, Parser)]
#[command(name = "stockdata", version, about, long_about = None)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    eprintln!("stockdata: no subcommands yet; run `stockdata --help`");
}
