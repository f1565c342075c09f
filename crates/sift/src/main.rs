// glibc's allocator spends a large share of a big plan in page faults and
// consolidation (measured with perf on the Gecko-scale benchmark); mimalloc
// keeps freed pages and cuts that cost.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    sift::main()
}
