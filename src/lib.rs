//! berth: deploy a web application stack to Kubernetes from one binary.
//!
//! The pipeline is values → manifests → images → apply; each stage is a module.
pub mod aiops;
pub mod apply;
pub mod chart;
pub mod cli;
pub mod cluster;
pub mod compose;
pub mod dev;
pub mod healthcheck;
pub mod hint;
pub mod images;
pub mod init;
pub mod manifests;
pub mod mcp;
pub mod operate;
pub mod pipeline;
pub mod ui;
pub mod values;
pub mod wizard;
