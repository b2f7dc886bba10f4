//! CPU requests sized for a laptop. A team's manifests or chart ask for production amounts
//! (500m × 2 replicas per service); Minikube's default node has 2 CPUs, of which its
//! kube-system pods request about 0.75 and berth's edge and in-cluster database 0.15, so a
//! stack whose requests exceed the rest stays `Pending: Insufficient cpu`. Requests only
//! reserve scheduling room: the team's requests are scaled down together (keeping their
//! ratios) until the stack fits, and their limits stay, so a busy pod still gets the CPU the
//! team allowed when the node has it free.

use crate::init::findings::{Found, Resources};
use crate::values::quantity::parse_quantity;

use super::Component;

/// Millicores the components may request together, each Deployment counted with one extra pod
/// (a rolling update surges one per Deployment, and berth updates them all at once).
pub const LAPTOP_CPU_BUDGET_M: u32 = 1000;
/// What berth requests for a component that declares nothing (`manifests::default_resources`).
const DEFAULT_REQUEST_M: u32 = 100;
/// The least a scaled request becomes.
const FLOOR_M: u32 = 10;

fn millicores(text: &str) -> Option<u32> {
    parse_quantity(text).map(|cpu| (cpu * 1000.0).round() as u32)
}

/// Scale the components' carried-over CPU requests to fit [`LAPTOP_CPU_BUDGET_M`]; each
/// changed request says so in its source (the comment beside it in berth.yaml).
pub fn fit_laptop(components: &mut [Component], assumptions: &mut Vec<String>) {
    let pods = |c: &Component| c.service.replicas.as_ref().map_or(1, |r| r.value.max(1)) as u32 + 1;
    let (mut team, mut ours) = (0u32, 0u32);
    for c in components.iter() {
        match c
            .service
            .resources
            .as_ref()
            .and_then(|r| millicores(&r.value.requests.0))
        {
            Some(m) => team += m * pods(c),
            None => ours += DEFAULT_REQUEST_M * pods(c),
        }
    }
    let room = LAPTOP_CPU_BUDGET_M.saturating_sub(ours);
    if team <= room || team == 0 {
        return;
    }
    let factor = f64::from(room.max(1)) / f64::from(team);
    for c in components.iter_mut() {
        let Some(found) = c.service.resources.as_mut() else {
            continue;
        };
        let Some(asked) = millicores(&found.value.requests.0) else {
            continue;
        };
        let scaled = ((f64::from(asked) * factor) as u32 / 5 * 5).max(FLOOR_M);
        if scaled >= asked {
            continue;
        }
        let original = found.value.requests.0.clone();
        let why = format!(
            "requests.cpu {original} scaled to {scaled}m: the stack's requests (replicas and a rolling update's extra pod included) must fit {LAPTOP_CPU_BUDGET_M}m of a 2-CPU Minikube; limits kept"
        );
        assumptions.push(format!("{}: {why}", c.service.name));
        *found = Found::new(
            Resources {
                requests: (format!("{scaled}m"), found.value.requests.1.clone()),
                limits: found.value.limits.clone(),
            },
            crate::init::findings::Source::new(
                found.source.file.clone(),
                found.source.line,
                format!("{} ({why})", found.source.what),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::findings::{Found, Runtime, Service, Source};

    fn component(name: &str, replicas: Option<i32>, cpu: Option<(&str, &str)>) -> Component {
        let runtime = Runtime::Node {
            script: "node s.js".into(),
        };
        let mut service = Service::new(name, name, Found::new(runtime, Source::assumed("x")));
        service.replicas =
            replicas.map(|n| Found::new(n, Source::new("k8s/d.yaml", Some(8), "replicas")));
        service.resources = cpu.map(|(request, limit)| {
            Found::new(
                Resources {
                    requests: (request.into(), "256Mi".into()),
                    limits: (limit.into(), "512Mi".into()),
                },
                Source::new("k8s/d.yaml", Some(20), "resources"),
            )
        });
        Component {
            service,
            env: Vec::new(),
            egress: Vec::new(),
        }
    }

    fn requests(components: &[Component]) -> Vec<Option<String>> {
        components
            .iter()
            .map(|c| {
                c.service
                    .resources
                    .as_ref()
                    .map(|r| r.value.requests.0.clone())
            })
            .collect()
    }

    #[test]
    fn production_requests_are_scaled_to_fit_and_limits_stay() {
        let mut stack = vec![
            component("api", Some(2), Some(("500m", "1"))),
            component("web", Some(2), Some(("250m", "500m"))),
            component("worker", None, Some(("0.25", "500m"))),
            component("mcp", None, None),
        ];
        let mut notes = Vec::new();
        fit_laptop(&mut stack, &mut notes);
        // 500×3 + 250×3 + 250×2 = 2750m of team requests; 800m room after mcp's 100m × 2.
        assert_eq!(
            requests(&stack),
            [
                Some("145m".into()),
                Some("70m".into()),
                Some("70m".into()),
                None
            ]
        );
        let total: u32 = [145 * 3, 70 * 3, 70 * 2, 100 * 2].iter().sum();
        assert!(total <= LAPTOP_CPU_BUDGET_M, "{total}");
        let api = stack[0].service.resources.as_ref().unwrap();
        assert_eq!(api.value.limits, ("1".to_string(), "512Mi".to_string()));
        assert_eq!(api.value.requests.1, "256Mi");
        assert!(
            api.source
                .describe()
                .contains("requests.cpu 500m scaled to 145m"),
            "{}",
            api.source.describe()
        );
        assert_eq!(notes.len(), 3, "{notes:?}");
    }

    #[test]
    fn a_stack_that_fits_is_left_alone() {
        let mut stack = vec![
            component("api", Some(1), Some(("200m", "1"))),
            component("web", None, Some(("100m", "500m"))),
        ];
        let mut notes = Vec::new();
        fit_laptop(&mut stack, &mut notes);
        assert_eq!(requests(&stack), [Some("200m".into()), Some("100m".into())]);
        assert!(notes.is_empty());
    }
}
