//! `sift-remote`: the network commands (`sift cache`, `sift pipeline`), which
//! `sift` hands over to this executable. It also runs every other command, so
//! it can stand in for `sift` where start-up time does not matter.

// The same allocator as `sift` (see `sift::alloc`): `sift run` plans here,
// and its time to the first task is mostly loading and planning.
#[global_allocator]
static ALLOCATOR: sift::alloc::Allocator = sift::alloc::Allocator;

fn main() -> std::process::ExitCode {
    sift::alloc::tune_system_allocator();
    sift::main_remote()
}
