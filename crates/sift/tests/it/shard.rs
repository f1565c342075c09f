//! `sift shard` on PyTorch's real test times.

use std::collections::BTreeMap;

use super::*;

/// (name, piece) of every test in a JSON shard listing.
fn pieces(shard: &serde_json::Value) -> Vec<(String, [u64; 2])> {
    shard["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let piece = t["piece"].as_array().unwrap();
            (
                t["name"].as_str().unwrap().to_owned(),
                [piece[0].as_u64().unwrap(), piece[1].as_u64().unwrap()],
            )
        })
        .collect()
}

#[test]
fn real_pytorch_times_balance_and_agree_across_jobs() {
    let Some(times) = pytorch_times() else { return };
    let times = times.display().to_string();
    let repo = TestRepo::plain();
    let args = [
        "shard",
        "--shards",
        "5",
        "--times",
        &times,
        "--job",
        "linux-jammy-py3.10-gcc11",
        "--config",
        "default",
        "--format",
        "json",
    ];
    let run = repo.sift(&args);
    let plan = run.json();
    assert_eq!(plan["times"], "linux-jammy-py3.10-gcc11/default");
    let shards = plan["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 5);
    // Every test file of the table exactly once; split tests with all pieces.
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&times).unwrap()).unwrap();
    let table = data["linux-jammy-py3.10-gcc11"]["default"]
        .as_object()
        .unwrap();
    let mut seen: BTreeMap<String, Vec<[u64; 2]>> = BTreeMap::new();
    for shard in shards {
        for (name, piece) in pieces(shard) {
            seen.entry(name).or_default().push(piece);
        }
    }
    assert_eq!(seen.len(), table.len());
    for (name, mut list) in seen {
        list.sort();
        let n = list[0][1];
        assert_eq!(list, (1..=n).map(|i| [i, n]).collect::<Vec<_>>(), "{name}");
        let seconds = table[&name].as_f64().unwrap();
        if seconds <= 600.0 {
            assert_eq!(n, 1, "{name} is short enough to stay whole");
        } else {
            assert!(n as f64 >= (seconds / 600.0).ceil(), "{name}: {n} pieces");
        }
    }
    // Within 2% of the lower bound.
    let slowest = shards
        .iter()
        .map(|s| s["expected_seconds"].as_f64().unwrap())
        .fold(0.0, f64::max);
    let bound = plan["lower_bound_seconds"].as_f64().unwrap();
    assert!(slowest <= 1.02 * bound + 0.01, "{slowest} vs {bound}");
    assert!(run.stderr.contains("slowest shard"), "{}", run.stderr);

    // Independent shard jobs agree: each `--index` lists exactly its part,
    // and running twice gives the same bytes.
    for (i, shard) in shards.iter().enumerate() {
        let index = (i + 1).to_string();
        let text_args = [&args[..9], &["--index", &index]].concat();
        let run = repo.sift(&text_args);
        let expected: String = pieces(shard)
            .into_iter()
            .map(|(name, [i, n])| {
                if n == 1 {
                    format!("{name}\n")
                } else {
                    format!("{name} {i}/{n}\n")
                }
            })
            .collect();
        assert_eq!(run.ok(), expected);
        assert_eq!(repo.sift(&text_args).stdout, run.stdout);
    }
}

#[test]
fn lookup_falls_back_and_unknown_tests_go_round_robin() {
    let Some(times) = pytorch_times() else { return };
    let times = times.display().to_string();
    let repo = TestRepo::plain();
    repo.write(
        "tests.txt",
        "test/test_nn.py\ntest_torch\ntest_brand_new\ntest_also_new\ninductor/test_torchinductor_opinfo\n",
    );
    let run = repo.sift(&[
        "shard",
        "--shards",
        "3",
        "--times",
        &times,
        "--job",
        "no-such-job",
        "--config",
        "slow",
        "--tests",
        "tests.txt",
        "--format",
        "json",
    ]);
    let plan = run.json();
    assert!(
        run.stderr
            .contains("warning: no times for no-such-job/slow; using default/slow"),
        "{}",
        run.stderr
    );
    assert_eq!(plan["times"], "default/slow");
    assert_eq!(
        plan["unknown"],
        serde_json::json!(["test_also_new", "test_brand_new"])
    );
    assert!(
        run.stderr
            .contains("2 test(s) have no recorded time and were dealt round-robin"),
        "{}",
        run.stderr
    );
    // Round-robin in name order from shard 1, at 0 s each.
    let unknown_at: Vec<(String, u64)> = plan["shards"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            let index = s["index"].as_u64().unwrap();
            s["tests"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t["seconds"].is_null())
                .map(move |t| (t["name"].as_str().unwrap().to_owned(), index))
        })
        .collect();
    assert_eq!(
        unknown_at,
        [
            ("test_also_new".to_owned(), 1),
            ("test_brand_new".to_owned(), 2)
        ]
    );
    // The candidate's own spelling is kept: test/test_nn.py found `test_nn`'s time.
    let names: Vec<String> = plan["shards"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| pieces(s).into_iter().map(|(n, _)| n))
        .collect();
    assert!(names.contains(&"test/test_nn.py".to_owned()), "{names:?}");

    // With neither the job nor a default table: everything is unknown.
    repo.write("times.json", r#"{"some-job": {"cfg": {"test_a": 1}}}"#);
    let run = repo.sift(&[
        "shard",
        "--shards",
        "2",
        "--times",
        "times.json",
        "--tests",
        "tests.txt",
    ]);
    run.ok();
    assert!(run.stderr.contains("has no times for"), "{}", run.stderr);
}

#[test]
fn flat_maps_pieces_and_usage_errors() {
    let repo = TestRepo::plain();
    repo.write(
        "times.json",
        r#"{"test_big": 1500, "test_small": 100, "test/test_x.py::T::t": 5}"#,
    );
    let run = repo.sift(&["shard", "--shards", "2", "--times", "times.json"]);
    // Only file-level keys are sharded by default. 1500 s splits into at
    // least 3 pieces; 3, 6, 9 and 12 pieces leave the shards more than 2%
    // apart, 15 pieces of 100 s give 800 s each.
    assert_eq!(
        run.ok(),
        "shard 1/2: 800.0 s expected, 8 test(s)\n  test_big 1/15\n  test_big 3/15\n  test_big 5/15\n  test_big 7/15\n  \
         test_big 9/15\n  test_big 11/15\n  test_big 13/15\n  test_big 15/15\n\
         shard 2/2: 800.0 s expected, 8 test(s)\n  test_big 2/15\n  test_big 4/15\n  test_big 6/15\n  test_big 8/15\n  \
         test_big 10/15\n  test_big 12/15\n  test_big 14/15\n  test_small\n"
    );
    assert!(
        run.stderr.contains("split tests cut 5× finer"),
        "{}",
        run.stderr
    );
    // An empty shard is reported, not an error.
    let run = repo.sift(&[
        "shard",
        "--shards",
        "9",
        "--index",
        "9",
        "--times",
        "times.json",
        "--split-above",
        "2000",
    ]);
    assert_eq!(run.ok(), "");
    assert!(
        run.stderr.contains("shard 9 of 9 is empty"),
        "{}",
        run.stderr
    );
    // Usage errors.
    for args in [
        &[
            "shard",
            "--shards",
            "2",
            "--index",
            "3",
            "--times",
            "times.json",
        ][..],
        &[
            "shard",
            "--shards",
            "2",
            "--index",
            "0",
            "--times",
            "times.json",
        ],
        &["shard", "--shards", "0", "--times", "times.json"],
        &[
            "shard",
            "--shards",
            "2",
            "--times",
            "times.json",
            "--split-above",
            "0",
        ],
    ] {
        assert_eq!(repo.sift(args).code, 2, "{args:?}");
    }
    // Malformed times: exit 11, naming the file and line.
    repo.write("bad.json", "{\n  \"a\": {\"b\": {\"c\": \"slow\"}}\n}");
    let run = repo.sift(&["shard", "--shards", "2", "--times", "bad.json"]);
    assert_eq!(run.code, 11);
    assert!(
        run.stderr
            .contains("`bad.json`: at `[\"a\"][\"b\"][\"c\"]`: expected seconds"),
        "{}",
        run.stderr
    );
    repo.write("bad.json", "{\n  \"a\": 1,,\n}");
    let run = repo.sift(&["shard", "--shards", "2", "--times", "bad.json"]);
    assert_eq!(run.code, 11);
    assert!(
        run.stderr.contains("`bad.json`:2:10: not valid JSON"),
        "{}",
        run.stderr
    );
    assert_eq!(
        repo.sift(&["shard", "--shards", "2", "--times", "nope.json"])
            .code,
        5
    );
}
