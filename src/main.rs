fn main() -> std::process::ExitCode {
    kcl_bridge::cli::main()
}
