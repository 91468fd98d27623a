//! Contract tests: the real adapters against the sandbox, which speaks each provider's wire
//! format, enforces quotas the way each provider does, and injects faults.

mod drift;
mod pact;
mod sandbox;
mod stream_pact;
mod verify_serve;
