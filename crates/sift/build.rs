//! Links the `sift` executable as a position-dependent (non-PIE) executable
//! on Linux.
//!
//! A PIE executable makes the dynamic loader apply every relative relocation
//! at each start: about 16,000 for `sift`, writing 64 pages of
//! `.data.rel.ro`, a quarter of a millisecond on a VM where a page fault is
//! expensive. `sift plan` on a small change must cost no more than 1.2x
//! `git diff`, and this was the largest fixed cost left (`sift-bench
//! history`: 1.36x -> 1.24x of git's median wall time). The price is that
//! the executable itself loads at a fixed address (shared libraries, the
//! heap and the stack stay randomized); `sift` reads the repository and
//! talks to no network. `sift-remote`, which holds the credentials and the
//! network code, stays a PIE. The objects are compiled as position
//! independent either way; only the final link differs.
//!
//! `cargo build-static` (an alias in `.cargo/config.toml`) goes one step
//! further and links `sift` statically (`-C target-feature=+crt-static -C
//! relocation-model=static`, given to the executable's own compilation only,
//! so proc-macros still build): no dynamic loader and no shared libraries to
//! map, another quarter of a millisecond per start. Those flags reach this
//! script only when they come through `RUSTFLAGS` (with `--target`, as
//! `cargo install` needs them); rustc then makes a static PIE, which `-no-pie`
//! would break, so it is not added.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    let crt_static = std::env::var("CARGO_CFG_TARGET_FEATURE")
        .is_ok_and(|features| features.split(',').any(|f| f == "crt-static"));
    if linux && !crt_static {
        println!("cargo:rustc-link-arg-bin=sift=-no-pie");
    }
}
