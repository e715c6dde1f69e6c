//! The dependency graph of the components (`dependsOn` in their descriptors). It is checked
//! once at load, so that the reconciler's gates, the removal order and the webhook's refusals
//! can rely on every name being registered and on there being no cycle to wait around forever.

use std::collections::{BTreeMap, BTreeSet};

/// Components by name, each with the names it depends on, in the descriptor's order.
pub type Edges = BTreeMap<String, Vec<String>>;

/// What is wrong with a set of edges; each problem names the component whose descriptor has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphProblem {
    Unknown {
        component: String,
        dependency: String,
    },
    OnItself {
        component: String,
    },
    /// The names along the cycle, starting at its smallest one and not repeating it.
    Cycle {
        cycle: Vec<String>,
    },
}

impl GraphProblem {
    /// The component whose descriptor the problem is reported against.
    pub fn component(&self) -> &str {
        match self {
            GraphProblem::Unknown { component, .. } | GraphProblem::OnItself { component } => {
                component
            }
            GraphProblem::Cycle { cycle } => cycle.first().map_or("", String::as_str),
        }
    }
}

/// Shows a cycle the way a reader follows it: `a → b → c → a`.
pub fn show_cycle(cycle: &[String]) -> String {
    let mut names: Vec<&str> = cycle.iter().map(String::as_str).collect();
    if let Some(first) = cycle.first() {
        names.push(first);
    }
    names.join(" → ")
}

/// Every problem of `edges`: dependencies on unregistered names or on the component itself,
/// and each cycle once (one per strongly connected group of components).
pub fn problems(edges: &Edges) -> Vec<GraphProblem> {
    let mut found = Vec::new();
    for (component, deps) in edges {
        let mut seen = BTreeSet::new();
        for dep in deps {
            if !seen.insert(dep) {
                continue;
            }
            if dep == component {
                found.push(GraphProblem::OnItself {
                    component: component.clone(),
                });
            } else if !edges.contains_key(dep) {
                found.push(GraphProblem::Unknown {
                    component: component.clone(),
                    dependency: dep.clone(),
                });
            }
        }
    }
    for group in strongly_connected(edges) {
        if group.len() > 1 {
            found.push(GraphProblem::Cycle {
                cycle: cycle_through(edges, &group),
            });
        }
    }
    found
}

/// The components that list `name` among their dependencies.
pub fn dependents<'a>(edges: &'a Edges, name: &str) -> Vec<&'a str> {
    edges
        .iter()
        .filter(|(_, deps)| deps.iter().any(|d| d == name))
        .map(|(c, _)| c.as_str())
        .collect()
}

/// Groups of components that reach each other (Tarjan's algorithm, iterative so that a long
/// chain cannot overflow the stack); self-loops and unknown names are ignored here.
fn strongly_connected(edges: &Edges) -> Vec<BTreeSet<String>> {
    let names: Vec<&String> = edges.keys().collect();
    let index_of: BTreeMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let successors: Vec<Vec<usize>> = names
        .iter()
        .map(|n| {
            edges[*n]
                .iter()
                .filter_map(|d| index_of.get(d.as_str()).copied())
                .collect()
        })
        .collect();
    let count = names.len();
    let mut index = vec![usize::MAX; count];
    let mut low = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack = Vec::new();
    let mut next_index = 0;
    let mut groups = Vec::new();
    for root in 0..count {
        if index[root] != usize::MAX {
            continue;
        }
        // (node, position in its successor list)
        let mut work = vec![(root, 0)];
        while let Some(&mut (node, ref mut position)) = work.last_mut() {
            if *position == 0 && index[node] == usize::MAX {
                index[node] = next_index;
                low[node] = next_index;
                next_index += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            if let Some(&next) = successors[node].get(*position) {
                *position += 1;
                if index[next] == usize::MAX {
                    work.push((next, 0));
                } else if on_stack[next] {
                    low[node] = low[node].min(index[next]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                let mut group = BTreeSet::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    group.insert(names[member].clone());
                    if member == node {
                        break;
                    }
                }
                groups.push(group);
            }
        }
    }
    groups
}

/// A shortest cycle through the smallest name of `group` (breadth-first inside the group), so
/// that the message shows a loop the reader can follow, not the whole group.
fn cycle_through(edges: &Edges, group: &BTreeSet<String>) -> Vec<String> {
    let Some(start) = group.iter().next() else {
        return Vec::new();
    };
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.as_str()]);
    while let Some(node) = queue.pop_front() {
        for next in edges.get(node).into_iter().flatten() {
            if !group.contains(next) || next == node {
                continue;
            }
            if next == start {
                let mut path = vec![node.to_string()];
                let mut at = node;
                while at != start {
                    at = came_from.get(at).copied().unwrap_or(start);
                    path.push(at.to_string());
                }
                path.reverse();
                return path;
            }
            if !came_from.contains_key(next.as_str()) {
                came_from.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    group.iter().cloned().collect()
}

/// How a node of the picture is drawn: its readiness when a cluster was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeState {
    /// No cluster was asked.
    Unknown,
    Ready,
    /// Not Ready, with the reason the component reports.
    NotReady(String),
    /// Not managed (no component resource).
    Removed,
}

impl NodeState {
    fn colour(&self) -> Option<&'static str> {
        match self {
            NodeState::Unknown => None,
            NodeState::Ready => Some("palegreen"),
            NodeState::NotReady(_) => Some("lightcoral"),
            NodeState::Removed => Some("lightgrey"),
        }
    }

    fn label(&self, name: &str) -> String {
        match self {
            NodeState::Unknown => name.to_string(),
            NodeState::Ready => format!("{name}\\nReady"),
            NodeState::NotReady(reason) => format!("{name}\\n{reason}"),
            NodeState::Removed => format!("{name}\\nRemoved"),
        }
    }
}

/// The graph in Graphviz's dot language; an arrow points from a component to what it needs.
pub fn dot(edges: &Edges, states: &BTreeMap<String, NodeState>) -> String {
    let mut out = String::from("digraph components {\n  rankdir=LR;\n  node [shape=box];\n");
    for name in edges.keys() {
        let state = states.get(name).unwrap_or(&NodeState::Unknown);
        let label = state.label(name);
        match state.colour() {
            Some(colour) => out.push_str(&format!(
                "  \"{name}\" [label=\"{label}\", style=filled, fillcolor={colour}];\n"
            )),
            None => out.push_str(&format!("  \"{name}\";\n")),
        }
    }
    for (name, deps) in edges {
        for dep in deps {
            out.push_str(&format!("  \"{name}\" -> \"{dep}\";\n"));
        }
    }
    out.push_str("}\n");
    out
}

/// The graph as a Mermaid flowchart (GitHub renders it in Markdown).
pub fn mermaid(edges: &Edges, states: &BTreeMap<String, NodeState>) -> String {
    let id = |name: &str| name.replace('-', "_");
    let mut out = String::from("flowchart LR\n");
    for name in edges.keys() {
        let state = states.get(name).unwrap_or(&NodeState::Unknown);
        let label = state.label(name).replace("\\n", "<br/>");
        out.push_str(&format!("  {}[\"{label}\"]\n", id(name)));
    }
    for (name, deps) in edges {
        for dep in deps {
            out.push_str(&format!("  {} --> {}\n", id(name), id(dep)));
        }
    }
    for (name, state) in states {
        if let Some(colour) = state.colour()
            && edges.contains_key(name)
        {
            out.push_str(&format!("  style {} fill:{colour}\n", id(name)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(pairs: &[(&str, &[&str])]) -> Edges {
        pairs
            .iter()
            .map(|(c, deps)| (c.to_string(), deps.iter().map(|d| d.to_string()).collect()))
            .collect()
    }

    #[test]
    fn a_chain_and_a_diamond_have_no_problems() {
        let e = edges(&[
            ("dashboard", &["serving", "registry"]),
            ("serving", &["registry", "certs"]),
            ("registry", &["db"]),
            ("db", &[]),
            ("certs", &[]),
        ]);
        assert_eq!(problems(&e), []);
        assert_eq!(dependents(&e, "registry"), ["dashboard", "serving"]);
        assert!(dependents(&e, "dashboard").is_empty());
    }

    #[test]
    fn unknown_names_and_self_dependencies_are_named() {
        let e = edges(&[("a", &["a", "ghost", "ghost"]), ("b", &[])]);
        assert_eq!(
            problems(&e),
            [
                GraphProblem::OnItself {
                    component: "a".into()
                },
                GraphProblem::Unknown {
                    component: "a".into(),
                    dependency: "ghost".into()
                },
            ]
        );
    }

    /// Each cycle once, shown from its smallest name and closed: `a → b → c → a`.
    #[test]
    fn each_cycle_is_shown_once_as_a_loop() {
        let e = edges(&[
            ("c", &["a"]),
            ("a", &["b"]),
            ("b", &["c"]),
            ("x", &["y"]),
            ("y", &["x"]),
            ("free", &["a"]),
        ]);
        let shown: Vec<String> = problems(&e)
            .iter()
            .map(|p| match p {
                GraphProblem::Cycle { cycle } => show_cycle(cycle),
                other => panic!("only cycles: {other:?}"),
            })
            .collect();
        assert_eq!(shown, ["a → b → c → a", "x → y → x"]);
    }

    /// In a group where several loops meet, a shortest loop through the smallest name.
    #[test]
    fn a_knot_of_loops_shows_its_shortest_loop() {
        let e = edges(&[
            ("a", &["d", "b"]),
            ("b", &["c"]),
            ("c", &["a"]),
            ("d", &["a"]),
        ]);
        let cycles: Vec<Vec<String>> = problems(&e)
            .into_iter()
            .map(|p| match p {
                GraphProblem::Cycle { cycle } => cycle,
                other => panic!("only cycles: {other:?}"),
            })
            .collect();
        assert_eq!(cycles, [vec!["a".to_string(), "d".to_string()]]);
    }

    /// A chain much longer than any registry is checked without exhausting the stack.
    #[test]
    fn a_very_long_chain_is_checked_iteratively() {
        let n = 50_000;
        let mut e: Edges = (0..n)
            .map(|i| (format!("c{i:05}"), vec![format!("c{:05}", i + 1)]))
            .collect();
        e.insert(format!("c{n:05}"), Vec::new());
        assert_eq!(problems(&e), []);
        e.insert(format!("c{n:05}"), vec!["c00000".to_string()]);
        let found = problems(&e);
        assert_eq!(found.len(), 1);
        assert!(matches!(&found[0], GraphProblem::Cycle { cycle } if cycle.len() == n + 1));
    }

    #[test]
    fn pictures_draw_every_node_and_edge_and_colour_by_readiness() {
        let e = edges(&[("serving", &["model-registry"]), ("model-registry", &[])]);
        let plain = dot(&e, &BTreeMap::new());
        assert_eq!(
            plain,
            "digraph components {\n  rankdir=LR;\n  node [shape=box];\n  \"model-registry\";\n  \"serving\";\n  \"serving\" -> \"model-registry\";\n}\n"
        );
        let states = BTreeMap::from([
            (
                "serving".to_string(),
                NodeState::NotReady("AwaitingDependency".into()),
            ),
            ("model-registry".to_string(), NodeState::Ready),
        ]);
        let coloured = dot(&e, &states);
        assert!(coloured.contains(
            "\"serving\" [label=\"serving\\nAwaitingDependency\", style=filled, fillcolor=lightcoral];"
        ));
        assert!(coloured.contains("fillcolor=palegreen"));
        let chart = mermaid(&e, &states);
        assert_eq!(
            chart,
            "flowchart LR\n  model_registry[\"model-registry<br/>Ready\"]\n  serving[\"serving<br/>AwaitingDependency\"]\n  serving --> model_registry\n  style model_registry fill:palegreen\n  style serving fill:lightcoral\n"
        );
    }
}
