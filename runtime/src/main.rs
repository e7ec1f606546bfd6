//! The `fastlane` command.

fn main() -> std::process::ExitCode {
    fastlane::cli::main()
}
