//! The sandbox over real sockets, as a client sees it: its streams.

mod alpaca_stream;
mod client;
mod finnhub_stream;
mod stream_rate;
