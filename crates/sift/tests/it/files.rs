use super::*;

#[test]
fn files_text_and_json() {
    let repo = TestRepo::plain();
    repo.write("sift.toml", CONFIG).write(
        "widget/sift.toml",
        "[[rules]]\nfiles = [\"cocoa/*.py\"]\ninclusive = [\"docs\"]\n",
    );
    let run = repo.sift(&["files", "widget/cocoa/a.py", "./src/main.c"]);
    insta::assert_snapshot!("files_text", run.ok());
    let json = repo
        .sift(&["files", "--json", "widget/cocoa/a.py", "src/main.c"])
        .json();
    assert_eq!(
        json,
        serde_json::json!([
            {
                "path": "widget/cocoa/a.py",
                "rules": [
                    {"file": "sift.toml", "line": 6, "pattern": "**/*.py"},
                    {"file": "sift.toml", "line": 10, "pattern": "widget/cocoa/**"},
                    {"file": "widget/sift.toml", "line": 1, "pattern": "cocoa/*.py"}
                ],
                "inclusive": ["docs", "py-lint"],
                "exclusive": ["macosx"],
                "components": ["docs", "macosx", "py-lint"]
            },
            {
                "path": "src/main.c",
                "rules": [],
                "inclusive": [],
                "exclusive": null,
                "components": ["linux", "macosx", "mochitest", "reftest", "windows"]
            }
        ])
    );
}
