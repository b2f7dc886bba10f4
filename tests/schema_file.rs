//! `values/values.schema.json` and `docs/VALUES.md` must be exactly what the Rust types generate.

mod common;

#[test]
fn committed_schema_is_current() {
    let committed = std::fs::read_to_string(common::repo_path("values/values.schema.json"))
        .expect("schema file exists");
    let generated = berth::values::schema::values_schema_pretty();
    assert!(
        committed == generated,
        "values/values.schema.json is stale; regenerate it with `cargo run -- schema > values/values.schema.json`"
    );
}

#[test]
fn committed_values_reference_is_current() {
    let committed = std::fs::read_to_string(common::repo_path("docs/VALUES.md"))
        .expect("docs/VALUES.md exists");
    let generated = berth::values::reference::values_reference_markdown();
    assert!(
        committed == generated,
        "docs/VALUES.md is stale; regenerate it with `cargo run -- schema --markdown > docs/VALUES.md`"
    );
}
