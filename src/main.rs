use std::process::ExitCode;

#[global_allocator]
static ALLOC: fraudnet::mem::HugePageAlloc = fraudnet::mem::HugePageAlloc;

fn main() -> ExitCode {
    fraudnet::cli::main()
}
