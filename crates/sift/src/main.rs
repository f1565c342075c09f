// The system allocator on purpose. mimalloc made the largest plans about 15%
// faster but cost a quarter of a millisecond to start (arena reservation,
// bitmaps), which is an eighth of `git diff` on a small change; `sift plan`
// must cost at most 1.2x git there. Large plans instead skip freeing their
// data at exit (see commands/plan.rs). Measured with `sift-bench run` and
// `sift-bench git`; figures in the README.

fn main() -> std::process::ExitCode {
    sift::main()
}
