// A bump region for small allocations, then the system allocator (see
// `sift::alloc`). glibc's malloc took about 200 instructions per fresh small
// allocation, a fifth of a large plan; mimalloc was as fast there but cost a
// quarter of a millisecond at every start, an eighth of `git diff` on a small
// change, and `sift plan` must cost at most 1.2x git there. Large plans also
// skip freeing their data at exit (see commands/plan.rs). Measured with
// `sift-bench run`, `sift-bench history` and callgrind; figures in the README.
#[global_allocator]
static ALLOCATOR: sift::alloc::Allocator = sift::alloc::Allocator;

fn main() -> std::process::ExitCode {
    sift::alloc::tune_system_allocator();
    sift::main()
}
