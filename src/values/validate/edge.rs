//! The edge proxy's own values: its image, replicas, resources and body limit.

use super::formats::{check_image, check_resources};
use crate::values::error::Problem;
use crate::values::model::Edge;

pub(super) fn check_edge(problems: &mut Vec<Problem>, edge: &Edge) {
    check_image(
        problems,
        "expose.edge",
        &edge.image.repository,
        &edge.image.tag,
    );
    if edge.replicas < 1 {
        problems.push(Problem::new(
            "expose.edge.replicas",
            format!(
                "{} is below 1; allowed: 1 or more (the edge is the only way in)",
                edge.replicas
            ),
        ));
    }
    check_resources(problems, "expose.edge.resources", &edge.resources);
    if !is_nginx_size(&edge.max_body_size) {
        problems.push(Problem::new(
            "expose.edge.maxBodySize",
            format!(
                "`{}` is not a size; allowed: digits with an optional k, m or g (e.g. 10m, 512k, 0 for no limit)",
                edge.max_body_size
            ),
        ));
    }
}

/// nginx's size syntax: a number of bytes, kilobytes (`k`), megabytes (`m`) or gigabytes (`g`).
fn is_nginx_size(text: &str) -> bool {
    let digits = text.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G']);
    text.len() - digits.len() <= 1
        && !digits.is_empty()
        && digits.len() <= 12
        && digits.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::is_nginx_size;

    #[test]
    fn sizes_as_nginx_reads_them() {
        for ok in ["0", "10m", "512k", "1G", "1048576"] {
            assert!(is_nginx_size(ok), "{ok}");
        }
        for bad in ["", "m", "10mb", "1.5m", "-1", "10 m", "10mm"] {
            assert!(!is_nginx_size(bad), "{bad}");
        }
    }
}
