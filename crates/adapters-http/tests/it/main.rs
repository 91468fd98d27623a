//! Adapters exercised over loopback against recorded provider payloads (wiremock, and a
//! scripted websocket provider for the streams), through the port traits.

mod alpaca;
mod alpha_vantage;
mod failure_matrix;
mod finnhub;
mod hostile;
mod pacing;
mod redirects;
mod secrets;
mod serverless;
mod stream_alpaca;
mod stream_finnhub;
mod support;
mod ws_fake;
mod zero_throttles;
