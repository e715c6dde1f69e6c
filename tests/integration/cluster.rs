//! The test cluster itself (tests/support): workloads run on its kwok Node, its controllers do
//! their work, and every failure stage of `tests/k8s-bin/kwok/stages/faults.yaml` produces the
//! pod status it promises. Other tests build on these behaviours, so they are proven here.

use crate::support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolumeClaim, Pod, ServiceAccount,
};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;
use support::{FAULT_ANNOTATION, eventually};

/// A fresh namespace whose `default` ServiceAccount exists, so that pods can be created in it.
async fn namespace(client: &kube::Client, prefix: &str) -> String {
    let name = support::unique_name(prefix);
    let namespaces = Api::<Namespace>::all(client.clone());
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": name}})).expect("namespace");
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace created");
    let accounts = Api::<ServiceAccount>::namespaced(client.clone(), &name);
    eventually("the namespace's default ServiceAccount", || async {
        accounts.get_opt("default").await.ok().flatten()
    })
    .await;
    name
}

/// A pod of one container; `annotations` go on the pod, `cpu` is its request.
fn pod(name: &str, annotations: serde_json::Value, cpu: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"containers": [{
            "name": "main",
            "image": "registry.example/app:1",
            "resources": {"requests": {"cpu": cpu}},
        }]},
    }))
    .expect("pod")
}

/// A Deployment of `replicas` pods whose template carries `annotations`.
fn deployment(name: &str, replicas: i32, annotations: serde_json::Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": annotations},
                "spec": {"containers": [{"name": "main", "image": "registry.example/app:1"}]},
            },
        },
    }))
    .expect("deployment")
}

fn condition<'a>(pod: &'a Pod, kind: &str) -> Option<&'a k8s_openapi::api::core::v1::PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
}

fn first_container(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::ContainerStatus> {
    pod.status.as_ref()?.container_statuses.as_ref()?.first()
}

fn waiting_reason(pod: &Pod) -> Option<&str> {
    first_container(pod)?
        .state
        .as_ref()?
        .waiting
        .as_ref()?
        .reason
        .as_deref()
}

#[tokio::test]
async fn the_default_node_is_ready_with_its_capacity() {
    let client = support::shared().client().await.expect("client");
    let nodes = Api::<k8s_openapi::api::core::v1::Node>::all(client);
    let node = nodes
        .get(support::DEFAULT_NODE)
        .await
        .expect("default node");
    let status = node.status.expect("node status");
    let ready = status
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .expect("Ready condition");
    assert_eq!(ready.status, "True");
    let capacity = status.capacity.expect("capacity");
    assert_eq!(capacity["cpu"].0, "32");
    assert_eq!(capacity["memory"].0, "256Gi");
    assert_eq!(capacity["pods"].0, "110");
    assert_eq!(capacity["ephemeral-storage"].0, "1Ti");
}

#[tokio::test]
async fn a_deployment_becomes_available() {
    let client = support::shared().client().await.expect("client");
    let ns = namespace(&client, "deploy").await;
    let deployments = Api::<Deployment>::namespaced(client.clone(), &ns);
    deployments
        .create(&PostParams::default(), &deployment("web", 2, json!({})))
        .await
        .expect("deployment created");
    eventually("the Deployment has 2 available replicas", || async {
        let d = deployments.get("web").await.ok()?;
        let status = d.status?;
        let available = status.conditions?.into_iter().any(|c| {
            c.type_.as_deref() == Some("Available") && c.status.as_deref() == Some("True")
        });
        (available && status.available_replicas == Some(2)).then_some(())
    })
    .await;
    let pods = Api::<Pod>::namespaced(client, &ns)
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("pods");
    assert_eq!(pods.items.len(), 2);
    for p in &pods.items {
        let status = p.status.as_ref().expect("pod status");
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert_eq!(
            p.spec.as_ref().and_then(|s| s.node_name.as_deref()),
            Some(support::DEFAULT_NODE),
            "scheduled onto the fake node"
        );
        assert!(status.pod_ip.is_some(), "kwok gives the pod an IP");
    }
}

#[tokio::test]
async fn a_job_completes() {
    let client = support::shared().client().await.expect("client");
    let ns = namespace(&client, "job").await;
    let jobs = Api::<Job>::namespaced(client.clone(), &ns);
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": "once"},
        "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "registry.example/task:1"}],
        }}},
    }))
    .expect("job");
    jobs.create(&PostParams::default(), &job)
        .await
        .expect("job created");
    eventually("the Job is Complete with one success", || async {
        let status = jobs.get("once").await.ok()?.status?;
        let complete = status
            .conditions?
            .into_iter()
            .any(|c| c.type_ == "Complete" && c.status == "True");
        (complete && status.succeeded == Some(1)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn deleting_a_namespace_finishes() {
    let client = support::shared().client().await.expect("client");
    let ns = namespace(&client, "gone").await;
    let config_maps = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "content"}})).expect("configmap");
    config_maps
        .create(&PostParams::default(), &cm)
        .await
        .expect("configmap created");
    Api::<Pod>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &pod("runner", json!({}), "100m"))
        .await
        .expect("pod created");
    let namespaces = Api::<Namespace>::all(client);
    namespaces
        .delete(&ns, &DeleteParams::default())
        .await
        .expect("namespace deleted");
    eventually("the namespace is gone", || async {
        matches!(namespaces.get_opt(&ns).await, Ok(None)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn deleting_an_owner_collects_its_dependents() {
    let client = support::shared().client().await.expect("client");
    let ns = namespace(&client, "gc").await;
    let config_maps = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    let owner: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "owner"}})).expect("configmap");
    let owner = config_maps
        .create(&PostParams::default(), &owner)
        .await
        .expect("owner created");
    let uid = owner.metadata.uid.expect("owner uid");
    let dependent: ConfigMap = serde_json::from_value(json!({"metadata": {
        "name": "dependent",
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}],
    }}))
    .expect("configmap");
    config_maps
        .create(&PostParams::default(), &dependent)
        .await
        .expect("dependent created");
    config_maps
        .delete("owner", &DeleteParams::default())
        .await
        .expect("owner deleted");
    eventually("the garbage collector deletes the dependent", || async {
        matches!(config_maps.get_opt("dependent").await, Ok(None)).then_some(())
    })
    .await;

    // And the workload chain: a Deployment's ReplicaSets and Pods go with it.
    let deployments = Api::<Deployment>::namespaced(client.clone(), &ns);
    deployments
        .create(&PostParams::default(), &deployment("web", 1, json!({})))
        .await
        .expect("deployment created");
    let pods = Api::<Pod>::namespaced(client.clone(), &ns);
    eventually("the Deployment's pod runs", || async {
        let list = pods.list(&ListParams::default()).await.ok()?;
        list.items
            .iter()
            .any(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .then_some(())
    })
    .await;
    deployments
        .delete("web", &DeleteParams::background())
        .await
        .expect("deployment deleted");
    let replica_sets = Api::<k8s_openapi::api::apps::v1::ReplicaSet>::namespaced(client, &ns);
    eventually("no ReplicaSet or Pod is left", || async {
        let sets = replica_sets.list(&ListParams::default()).await.ok()?;
        let left = pods.list(&ListParams::default()).await.ok()?;
        (sets.items.is_empty() && left.items.is_empty()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_claim_binds_to_a_pooled_volume() {
    let client = support::shared().client().await.expect("client");
    let ns = namespace(&client, "pvc").await;
    let claims = Api::<PersistentVolumeClaim>::namespaced(client, &ns);
    let claim: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }))
    .expect("claim");
    claims
        .create(&PostParams::default(), &claim)
        .await
        .expect("claim created");
    let bound = eventually("the claim is Bound", || async {
        let c = claims.get("data").await.ok()?;
        (c.status.as_ref()?.phase.as_deref() == Some("Bound")).then_some(c)
    })
    .await;
    let spec = bound.spec.expect("claim spec");
    assert_eq!(
        spec.storage_class_name.as_deref(),
        Some(support::STORAGE_CLASS),
        "the default StorageClass is filled in"
    );
    assert!(
        spec.volume_name.is_some_and(|v| v.starts_with("pool-")),
        "bound to a pre-created volume"
    );
}

#[tokio::test]
async fn a_pod_too_big_for_the_node_is_unschedulable() {
    let client = support::shared().client().await.expect("client");
    let ns = namespace(&client, "big").await;
    let pods = Api::<Pod>::namespaced(client, &ns);
    pods.create(&PostParams::default(), &pod("huge", json!({}), "64"))
        .await
        .expect("pod created");
    let scheduled = eventually("the scheduler reports the pod unschedulable", || async {
        let p = pods.get("huge").await.ok()?;
        condition(&p, "PodScheduled").cloned()
    })
    .await;
    assert_eq!(scheduled.status, "False");
    assert_eq!(scheduled.reason.as_deref(), Some("Unschedulable"));
    let message = scheduled.message.unwrap_or_default();
    assert!(
        message.contains("Insufficient cpu"),
        "the scheduler's own message: {message}"
    );
}

#[tokio::test]
async fn fault_image_pull_backs_off() {
    let client = support::shared().client().await.expect("client");
    let ns = namespace(&client, "pull").await;
    let pods = Api::<Pod>::namespaced(client, &ns);
    pods.create(
        &PostParams::default(),
        &pod("p", json!({FAULT_ANNOTATION: "image-pull"}), "100m"),
    )
    .await
    .expect("pod created");
    // ErrImagePull lasts a second before the back-off; a poll may miss it, so the first one
    // seen may already be ImagePullBackOff, but nothing else.
    let seen = std::cell::RefCell::new(Vec::new());
    let p = eventually("the pod waits in ImagePullBackOff", || async {
        let p = pods.get("p").await.ok()?;
        if let Some(reason) = waiting_reason(&p) {
            seen.borrow_mut().push(reason.to_owned());
        }
        (waiting_reason(&p) == Some("ImagePullBackOff")).then_some(p)
    })
    .await;
    let seen = seen.into_inner();
    assert!(
        seen.iter()
            .all(|r| r == "ErrImagePull" || r == "ImagePullBackOff"),
        "waiting reasons seen: {seen:?}"
    );
    let status = p.status.as_ref().expect("status");
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    assert_eq!(
        condition(&p, "Ready").map(|c| c.status.as_str()),
        Some("False")
    );
    let container = first_container(&p).expect("container status");
    assert!(!container.ready);
    assert_eq!(container.restart_count, 0);
}

/// Waits for a crash-looping pod's restart count to pass 1 and returns the pod as last seen
/// in CrashLoopBackOff with that count.
async fn crash_loops(pods: &Api<Pod>, name: &str) -> Pod {
    let first = eventually("the pod waits in CrashLoopBackOff", || async {
        let p = pods.get(name).await.ok()?;
        (waiting_reason(&p) == Some("CrashLoopBackOff")).then_some(p)
    })
    .await;
    let restarts = first_container(&first).expect("container").restart_count;
    assert!(restarts >= 1, "a crash counts a restart");
    eventually("the restart count rises", || async {
        let p = pods.get(name).await.ok()?;
        let count = first_container(&p)?.restart_count;
        (waiting_reason(&p) == Some("CrashLoopBackOff") && count > restarts).then_some(p)
    })
    .await
}

#[tokio::test]
async fn fault_crash_loop_restarts_with_rising_count() {
    let client = support::shared().client().await.expect("client");
    let ns = namespace(&client, "crash").await;
    let pods = Api::<Pod>::namespaced(client, &ns);
    pods.create(
        &PostParams::default(),
        &pod("p", json!({FAULT_ANNOTATION: "crash-loop"}), "100m"),
    )
    .await
    .expect("pod created");
    let p = crash_loops(&pods, "p").await;
    let container = first_container(&p).expect("container status");
    let last = container
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .expect("lastState.terminated");
    assert_eq!(last.reason.as_deref(), Some("Error"));
    assert_eq!(last.exit_code, 1);
    assert!(!container.ready);
    assert_eq!(
        p.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Running")
    );
    assert_eq!(
        condition(&p, "Ready").map(|c| c.status.as_str()),
        Some("False")
    );
}

#[tokio::test]
async fn fault_oom_is_killed_and_restarted() {
    let client = support::shared().client().await.expect("client");
    let ns = namespace(&client, "oom").await;
    let deployments = Api::<Deployment>::namespaced(client.clone(), &ns);
    // Through a pod template, as a test of a chart's workload would set it.
    deployments
        .create(
            &PostParams::default(),
            &deployment("eater", 1, json!({FAULT_ANNOTATION: "oom"})),
        )
        .await
        .expect("deployment created");
    let pods = Api::<Pod>::namespaced(client, &ns);
    let name = eventually("the Deployment's pod exists", || async {
        let list = pods.list(&ListParams::default()).await.ok()?;
        list.items.first()?.metadata.name.clone()
    })
    .await;
    let p = crash_loops(&pods, &name).await;
    let last = first_container(&p)
        .and_then(|c| c.last_state.as_ref())
        .and_then(|s| s.terminated.as_ref())
        .expect("lastState.terminated");
    assert_eq!(last.reason.as_deref(), Some("OOMKilled"));
    assert_eq!(last.exit_code, 137);
    let d = deployments.get("eater").await.expect("deployment");
    assert_eq!(
        d.status.and_then(|s| s.available_replicas).unwrap_or(0),
        0,
        "an OOM-killed pod is never available"
    );
}

#[tokio::test]
async fn fault_never_ready_runs_but_stays_unready() {
    let client = support::shared().client().await.expect("client");
    let ns = namespace(&client, "unready").await;
    let pods = Api::<Pod>::namespaced(client, &ns);
    pods.create(
        &PostParams::default(),
        &pod("p", json!({FAULT_ANNOTATION: "never-ready"}), "100m"),
    )
    .await
    .expect("pod created");
    let p = eventually("the pod runs", || async {
        let p = pods.get("p").await.ok()?;
        (p.status.as_ref()?.phase.as_deref() == Some("Running")).then_some(p)
    })
    .await;
    let ready = condition(&p, "Ready").expect("Ready condition");
    assert_eq!(ready.status, "False");
    assert_eq!(ready.reason.as_deref(), Some("ContainersNotReady"));
    let container = first_container(&p).expect("container status");
    assert!(!container.ready);
    assert_eq!(container.started, Some(true));
    assert!(
        container
            .state
            .as_ref()
            .is_some_and(|s| s.running.is_some()),
        "the container runs"
    );
}

/// The kubelet's report of a container whose env reads a missing Secret, named from the pod's
/// own secretKeyRef; kwok does not look at Secrets, so it stays so even once the Secret exists.
#[tokio::test]
async fn fault_missing_config_names_the_secret_the_container_reads() {
    let client = support::shared().client().await.expect("client");
    let ns = namespace(&client, "config").await;
    let pods = Api::<Pod>::namespaced(client, &ns);
    let mut p = pod("p", json!({FAULT_ANNOTATION: "missing-config"}), "100m");
    p.spec.as_mut().expect("spec").containers[0].env = Some(
        serde_json::from_value(json!([
            {"name": "PLAIN", "value": "x"},
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        ]))
        .expect("env"),
    );
    pods.create(&PostParams::default(), &p)
        .await
        .expect("pod created");
    let p = eventually("the pod waits in CreateContainerConfigError", || async {
        let p = pods.get("p").await.ok()?;
        (waiting_reason(&p) == Some("CreateContainerConfigError")).then_some(p)
    })
    .await;
    let container = first_container(&p).expect("container status");
    let waiting = container.state.as_ref().and_then(|s| s.waiting.as_ref());
    assert_eq!(
        waiting.and_then(|w| w.message.as_deref()),
        Some("secret \"db\" not found")
    );
    assert!(!container.ready);
    assert_eq!(
        p.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Pending")
    );
}

/// A cluster with other nodes than the default: a test may ask for small ones, and the
/// scheduler packs by their capacity.
#[tokio::test]
async fn a_private_cluster_has_the_nodes_it_asks_for() {
    let nodes = [
        support::FakeNode::new("small-a")
            .cpu("1")
            .memory("1Gi")
            .pods(2),
        support::FakeNode::new("small-b")
            .cpu("1")
            .memory("1Gi")
            .pods(2),
    ];
    let mut plane = support::ControlPlane::start_with(&nodes).expect("cluster starts");
    let client = plane.client().await.expect("client");
    let listed = Api::<k8s_openapi::api::core::v1::Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("nodes");
    let mut names: Vec<_> = listed
        .items
        .iter()
        .filter_map(|n| n.metadata.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["small-a", "small-b"]);

    // Four pods fit on two nodes of two pods each; a fifth does not, until a node is added.
    let pods = Api::<Pod>::namespaced(client, "default");
    for i in 0..5 {
        pods.create(
            &PostParams::default(),
            &pod(&format!("p{i}"), json!({}), "100m"),
        )
        .await
        .expect("pod created");
    }
    let running = |list: &[Pod]| {
        list.iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .count()
    };
    eventually("four pods run and one is unschedulable", || async {
        let list = pods.list(&ListParams::default()).await.ok()?.items;
        let unschedulable = list
            .iter()
            .filter(|p| {
                condition(p, "PodScheduled")
                    .is_some_and(|c| c.reason.as_deref() == Some("Unschedulable"))
            })
            .count();
        (running(&list) == 4 && unschedulable == 1).then_some(())
    })
    .await;
    plane
        .add_nodes(&[support::FakeNode::new("small-c")])
        .expect("node added");
    eventually("the fifth pod runs on the new node", || async {
        let list = pods.list(&ListParams::default()).await.ok()?.items;
        (running(&list) == 5).then_some(())
    })
    .await;
}
