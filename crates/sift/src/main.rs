fn main() -> std::process::ExitCode {
    sift::main()
}
