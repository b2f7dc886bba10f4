//! Command-line interface (placeholder until the commands land).
pub fn run() -> i32 {
    0
}
