//! The recommended `app.kubernetes.io/*` labels every object carries, and the
//! smaller, stable subset used in selectors (selectors are immutable, so they
//! never include the version).

use std::collections::BTreeMap;

use super::context::{Identity, RenderContext};

pub const NAME: &str = "app.kubernetes.io/name";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
pub const COMPONENT: &str = "app.kubernetes.io/component";
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const VERSION: &str = "app.kubernetes.io/version";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// The `managed-by` value of objects berth renders (a Helm install says `Helm`).
pub const MANAGER: &str = "berth";

pub type Labels = BTreeMap<String, String>;

/// Labels of an object that belongs to one component.
pub fn component_labels(ctx: &RenderContext, who: &Identity) -> Labels {
    let mut labels = stable_labels(ctx, who);
    labels.insert(VERSION.into(), who.version.clone());
    labels
}

/// Component labels without the version: for selectors and volume claim templates.
pub fn stable_labels(ctx: &RenderContext, who: &Identity) -> Labels {
    let mut labels = selector_labels(ctx, who);
    labels.insert(PART_OF.into(), ctx.app_name.clone());
    labels.insert(MANAGED_BY.into(), MANAGER.into());
    labels
}

/// The labels that select a component's pods.
pub fn selector_labels(ctx: &RenderContext, who: &Identity) -> Labels {
    BTreeMap::from([
        (NAME.into(), who.software.clone()),
        (INSTANCE.into(), ctx.release.clone()),
        (COMPONENT.into(), who.component.clone()),
    ])
}

/// Labels of a release-wide object (Namespace, the namespace's default-deny policy).
pub fn release_labels(ctx: &RenderContext) -> Labels {
    BTreeMap::from([
        (NAME.into(), ctx.app_name.clone()),
        (INSTANCE.into(), ctx.release.clone()),
        (PART_OF.into(), ctx.app_name.clone()),
        (VERSION.into(), ctx.app_version.clone()),
        (MANAGED_BY.into(), MANAGER.into()),
    ])
}
