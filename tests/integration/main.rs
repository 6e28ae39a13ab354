//! The single integration-test binary (one link step on a 2-core machine).

mod common;
mod conformance;
mod engines;

mod architecture;
mod azure_targets;
mod cli;
mod engine_bicep;
mod engine_bootstrap;
mod engine_pwsh;
mod fuzz;
mod generated_readme;
mod hcl_targets;
mod hostile;
mod powershell;
mod prices;
mod schema;
mod secrets;
mod templates;
mod validation;
