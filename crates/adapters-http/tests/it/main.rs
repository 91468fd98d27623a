//! Adapters exercised over loopback against recorded provider payloads (wiremock), through the
//! port traits.

mod alpaca;
mod alpha_vantage;
mod failure_matrix;
mod finnhub;
mod hostile;
mod pacing;
mod redirects;
mod secrets;
mod serverless;
mod support;
mod zero_throttles;
