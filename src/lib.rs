//! berth: deploy a web application stack to Kubernetes from one binary.
pub mod cli;
pub mod images;
