//! The `wcigen` command: argument parsing and printing around the library.
mod cli;
mod man;

fn main() -> std::process::ExitCode {
    cli::run()
}
