//! `sift-remote`: the network commands (`sift cache`, `sift pipeline`), which
//! `sift` hands over to this executable. It also runs every other command, so
//! it can stand in for `sift` where start-up time does not matter.

fn main() -> std::process::ExitCode {
    sift::main_remote()
}
