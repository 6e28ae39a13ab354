//! The `wcigen` command: argument parsing and printing around the library.
mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
