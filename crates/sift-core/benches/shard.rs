//! Shard quality on PyTorch's real test times: sift's sharder against the
//! lower bound max(total/N, longest piece) and against PyTorch's own
//! `calculate_shards` (reimplemented in `sift_core::tests::shard::pytorch`).
//!
//! Run with `cargo bench -p sift-core --bench shard`; it prints a markdown
//! table and exits non-zero if any case misses the target (1.02 × the bound)
//! or is slower than PyTorch's. The data file is looked up at
//! `../shared/data/pytorch-test-times.json` beside the repository, or at
//! `$SIFT_TEST_TIMES`.

use std::path::PathBuf;
use std::time::Instant;

use sift_core::tests::shard::{self, DEFAULT_SPLIT_ABOVE, ShardInput, TARGET, pytorch};
use sift_core::tests::test_times::{TestTimes, TimesIndex};

/// The jobs/configs in the table: big and small suites, CPU, CUDA, ROCm,
/// ASAN, macOS, Windows, and the fallback tables.
const CASES: &[(&str, &str)] = &[
    ("default", "default"),
    ("linux-jammy-cuda13.0-py3.10-gcc11", "default"),
    ("linux-jammy-py3.10-clang18-asan", "default"),
    ("linux-jammy-rocm-py3.10", "inductor"),
    ("linux-jammy-py3.10-gcc11", "distributed"),
    ("macos-py3-arm64-mps", "mps"),
    ("win-vs2022-cpu-py3", "default"),
    ("linux-jammy-py3.10-clang21-asan", "slow"),
];
const SHARDS: &[usize] = &[2, 3, 5, 8, 16];

struct Row {
    job: String,
    config: String,
    shards: usize,
    tests: usize,
    total: f64,
    bound: f64,
    sift: f64,
    pytorch: f64,
    factor: u32,
    micros: u128,
}

fn data_path() -> PathBuf {
    if let Some(path) = std::env::var_os("SIFT_TEST_TIMES") {
        return path.into();
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/pytorch-test-times.json")
}

fn measure(times: &TestTimes, job: &str, config: &str, shards: usize) -> Row {
    let lookup = times.lookup(Some(job), Some(config));
    let index = TimesIndex::new(lookup.table);
    let tests: Vec<ShardInput> = index
        .files()
        .map(|(name, seconds)| ShardInput {
            name: name.to_owned(),
            seconds: Some(seconds),
        })
        .collect();
    let start = Instant::now();
    let plan = shard::shard(&tests, shards, DEFAULT_SPLIT_ABOVE).expect("valid input");
    let micros = start.elapsed().as_micros();
    let reference: Vec<(String, Option<f64>)> =
        tests.iter().map(|t| (t.name.clone(), t.seconds)).collect();
    let pytorch = pytorch::calculate_shards(shards, &reference)
        .into_iter()
        .fold(0.0, f64::max);
    Row {
        job: job.to_owned(),
        config: config.to_owned(),
        shards,
        tests: tests.len(),
        total: plan.total_seconds,
        bound: plan.lower_bound,
        sift: plan.makespan(),
        pytorch,
        factor: plan.split_factor,
        micros,
    }
}

fn main() {
    let path = data_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!(
            "cannot read `{}`: {e}\nhint: set SIFT_TEST_TIMES to pytorch-test-times.json",
            path.display()
        );
        std::process::exit(2);
    });
    let times = TestTimes::parse(&text).expect("the data file parses");

    println!(
        "| job / config | N | tests | total s | bound s | sift s | sift / bound | PyTorch s | PyTorch / bound | split factor | time |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut misses = 0;
    for (job, config) in CASES {
        for &n in SHARDS {
            let row = measure(&times, job, config, n);
            let ok =
                row.sift <= TARGET * row.bound * (1.0 + 1e-12) && row.sift <= row.pytorch + 1e-6;
            if !ok {
                misses += 1;
            }
            println!(
                "| {}/{} | {} | {} | {:.0} | {:.1} | {:.1} | {:.4}{} | {:.1} | {:.4} | {} | {} µs |",
                row.job,
                row.config,
                row.shards,
                row.tests,
                row.total,
                row.bound,
                row.sift,
                row.sift / row.bound,
                if ok { "" } else { " ✗" },
                row.pytorch,
                row.pytorch / row.bound,
                row.factor,
                row.micros
            );
        }
    }

    // Every job/config of the file, for the summary.
    let TestTimes::Nested(jobs) = &times else {
        panic!("expected the nested format");
    };
    let mut cases = 0;
    let mut within = 0;
    let mut not_slower = 0;
    let mut worst = (0.0_f64, String::new());
    let mut worst_pytorch = (0.0_f64, String::new());
    let start = Instant::now();
    for (job, configs) in jobs {
        for config in configs.keys() {
            for &n in SHARDS {
                let row = measure(&times, job, config, n);
                if row.tests == 0 {
                    continue;
                }
                cases += 1;
                let ratio = row.sift / row.bound;
                if ratio <= TARGET * (1.0 + 1e-12) {
                    within += 1;
                } else {
                    misses += 1;
                }
                if row.sift <= row.pytorch + 1e-6 {
                    not_slower += 1;
                } else {
                    misses += 1;
                }
                let label = format!("{job}/{config} N={n}");
                if ratio > worst.0 {
                    worst = (ratio, label.clone());
                }
                let pytorch_ratio = row.pytorch / row.bound;
                if pytorch_ratio > worst_pytorch.0 {
                    worst_pytorch = (pytorch_ratio, label);
                }
            }
        }
    }
    println!();
    println!(
        "All {cases} (job/config, N) cases of the file, N in {SHARDS:?}: {within} within {TARGET}× the bound, \
         {not_slower} no slower than PyTorch; worst sift {:.4} ({}), worst PyTorch {:.4} ({}); {:.2} s in all.",
        worst.0,
        worst.1,
        worst_pytorch.0,
        worst_pytorch.1,
        start.elapsed().as_secs_f64()
    );
    if misses > 0 {
        eprintln!("{misses} case(s) missed the target or were slower than PyTorch");
        std::process::exit(1);
    }
}
