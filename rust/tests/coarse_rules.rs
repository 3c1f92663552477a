//! No coarse rule (one with `alongside`: a node, a namespace, a workload, a cluster, a host)
//! claims a resource that describes another object. The cases are generated: every entity type
//! of the semantic conventions' registry (`rust/rules/entities.json`), Kubernetes event
//! subjects (`k8s.object.*`) and an object nobody registered, each beside the least that each
//! coarse rule matches on. A rule that claims one of them is the false merge issue 21 names: a
//! kubelet event about a pod typed as its node.

mod common;

use common::*;
use resourceequality::{Engine, RuleSpec, builtin_rules};
use serde_json::{Map, Value as J, json};

const NOW: u64 = 1_800_000_000;

/// An object, and the attribute sets that each describe it.
struct Object {
    name: String,
    /// Each alone describes the object.
    each: Vec<String>,
    all: Vec<String>,
}

/// Each registered entity type with the attributes the registry lists for it (each describes
/// it; a template attribute, `k8s.pod.label`, with a suffix too), and objects no registry lists,
/// described by the keys that name or identify them.
fn objects() -> Vec<Object> {
    let file: J =
        serde_json::from_slice(&std::fs::read(repo_root().join("rust/rules/entities.json")).unwrap()).unwrap();
    let mut out: Vec<Object> = file["entities"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(t, e)| {
            let attrs = e["identifying"].as_array().unwrap().iter().chain(e["other"].as_array().unwrap());
            let all: Vec<String> = attrs.map(|a| a.as_str().unwrap().to_owned()).collect();
            let mut each = all.clone();
            each.extend(
                all.iter().filter(|k| k.ends_with(".label") || k.ends_with(".annotation")).map(|k| format!("{k}.app")),
            );
            Object { name: t.clone(), each, all }
        })
        .collect();
    let k8s_object = ["kind", "name", "uid", "fieldpath", "api_version", "resource_version"];
    out.push(Object {
        name: "k8s.object".into(),
        each: vec!["k8s.object.uid".into(), "k8s.object.name".into()],
        all: k8s_object.iter().map(|k| format!("k8s.object.{k}")).collect(),
    });
    out.push(Object {
        name: "acme.widget".into(),
        each: vec!["acme.widget.id".into(), "acme.widget.serial_id".into(), "acme.widget.name".into()],
        all: vec!["acme.widget.id".into(), "acme.widget.color".into()],
    });
    out
}

/// The objects other than `object` that the registry lists `key` under (`cloud.resource_id`
/// describes a cloud resource and a function alike).
fn also_describes<'o>(objects: &'o [Object], key: &str, object: &str) -> impl Iterator<Item = &'o str> {
    objects.iter().filter(move |o| o.name != object && o.all.iter().any(|k| k == key)).map(|o| o.name.as_str())
}

fn is_under(object: &str, kind: &str) -> bool {
    object == kind || object.starts_with(&format!("{kind}."))
}

/// The least a rule matches on: its `when` conditions and its first identity alternative's
/// required keys.
fn least_resource(rule: &RuleSpec) -> Map<String, J> {
    let mut attrs = Map::new();
    for c in &rule.when {
        let key = c.key.split('|').next().unwrap().to_owned();
        let value = if let Some(v) = &c.equals {
            v.clone()
        } else if let Some(vs) = &c.one_of {
            vs[0].clone()
        } else if let Some(p) = &c.prefix {
            format!("{p}x")
        } else if c.absent == Some(true) || c.present == Some(false) {
            continue;
        } else {
            "present".into()
        };
        attrs.insert(key, J::String(value));
    }
    for (i, group) in rule.identity[0].iter().filter(|g| !g.ends_with('?')).enumerate() {
        attrs.insert(group.split('|').next().unwrap().to_owned(), json!(format!("own{i}")));
    }
    attrs
}

fn claimed_by(engine: &Engine, attrs: &Map<String, J>) -> String {
    let r = resource(attrs);
    let out = engine.process(&batch([r.clone()]), NOW).unwrap();
    let marked = apply(&r, &upserts(&out)[0]);
    get_str(&marked, "resource.rule").unwrap_or("").to_owned()
}

#[test]
fn no_coarse_rule_claims_a_resource_describing_another_object() {
    let mut failures = Vec::new();
    let mut cases = 0;
    let objects = objects();
    for rule in builtin_rules().iter().filter(|r| r.alongside.is_some()) {
        let beside: Vec<&str> = std::iter::once(rule.entity_type.as_str())
            .chain(rule.alongside.iter().flatten().map(String::as_str))
            .chain(["cloud", "deployment"])
            .collect();
        let least = least_resource(rule);
        // The cases below mean something only if the rule claims its least resource.
        let engine = Engine::from_json(br#"{"rule_attribute":"resource.rule"}"#).unwrap();
        assert_eq!(claimed_by(&engine, &least), rule.name, "{}: its least resource {least:?}", rule.name);
        for object in &objects {
            if beside.iter().any(|t| is_under(&object.name, t)) {
                continue;
            }
            let alone = object.each.iter().filter(|k| {
                !also_describes(&objects, k, &object.name).any(|other| beside.iter().any(|t| is_under(other, t)))
            });
            for set in alone.map(|k| vec![k.clone()]).chain([object.all.clone()]).collect::<Vec<_>>() {
                let mut attrs = least.clone();
                for (i, k) in set.iter().enumerate() {
                    attrs.entry(k.clone()).or_insert(json!(format!("other{i}-{cases}")));
                }
                cases += 1;
                if claimed_by(&engine, &attrs) == rule.name {
                    failures.push(format!("{} claims a resource describing {}: {set:?}", rule.name, object.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {cases} cases:\n{}", failures.len(), failures.join("\n"));
    eprintln!("{cases} generated resources, none claimed by a coarse rule");
}
