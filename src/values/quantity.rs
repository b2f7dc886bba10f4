//! Kubernetes resource quantities (`250m`, `1.5`, `512Mi`, `1G`, `1e3`), parsed
//! only far enough to validate and compare them.

/// Parses a quantity into base units (cores for CPU, bytes for memory).
pub fn parse_quantity(text: &str) -> Option<f64> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    if number.is_empty() || number.starts_with('-') {
        return None;
    }
    let number: f64 = number.parse().ok()?;
    let multiplier = suffix_multiplier(suffix)?;
    Some(number * multiplier)
}

fn suffix_multiplier(suffix: &str) -> Option<f64> {
    let binary = |power: i32| 1024f64.powi(power);
    let decimal = |power: i32| 10f64.powi(power);
    Some(match suffix {
        "" => 1.0,
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        exp if exp.starts_with(['e', 'E']) => decimal(exp[1..].parse().ok()?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_quantity;

    #[test]
    fn parses_the_forms_kubernetes_accepts() {
        assert_eq!(parse_quantity("250m"), Some(0.25));
        assert_eq!(parse_quantity("2"), Some(2.0));
        assert_eq!(parse_quantity("1.5"), Some(1.5));
        assert_eq!(parse_quantity("512Mi"), Some(512.0 * 1024.0 * 1024.0));
        assert_eq!(parse_quantity("1G"), Some(1e9));
        assert_eq!(parse_quantity("1e3"), Some(1000.0));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "abc", "12Q", "-1", "Mi", "1.2.3"] {
            assert_eq!(parse_quantity(bad), None, "{bad}");
        }
    }
}
