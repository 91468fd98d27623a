//! Behaviour of the domain types, through their public API only.

mod errors;
mod news_and_ranges;
mod quality;
mod symbols;
mod time_and_ranges;
