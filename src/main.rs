use std::process::ExitCode;

fn main() -> ExitCode {
    fraudnet::cli::main()
}
