//! Snapshot tests of the full render: reviewable YAML in a stable order. A
//! change to any rendered field shows up as a snapshot diff to review.

mod common;

use berth::manifests::output::to_yaml_stream;

#[test]
fn full_render_of_each_profile_matches_its_snapshot() {
    for (name, values) in common::profiles() {
        let rendered = to_yaml_stream(&common::render(&values));
        insta::assert_snapshot!(format!("render_{}", name.replace('-', "_")), rendered);
    }
}

#[test]
fn rendering_twice_gives_identical_output() {
    for (name, values) in common::profiles() {
        let first = to_yaml_stream(&common::render(&values));
        let second = to_yaml_stream(&common::render(&values));
        assert_eq!(first, second, "{name} render is not deterministic");
    }
}
