//! Files generated from one definition, checked here so that a stale copy fails the tests:
//! the README's rule table (from `rust/rules/builtin.json`), and the README's engine-metrics
//! table and the Go component's engine metrics in `metadata.yaml` (from `rust/src/stats.rs`), and
//! the engine defaults the README's configuration examples state (from `rust/src/config.rs`).
//! `make generate` renews them (`RE_UPDATE_GENERATED=1 cargo test --test generated`), and then
//! the header and mdatagen's code.

mod common;
#[path = "generated/go_copies.rs"]
mod go_copies;
#[path = "generated/rule_table.rs"]
mod rule_table;

use resourceequality::stats::{MetricKind, metrics};

/// Checks (or, with `RE_UPDATE_GENERATED`, rewrites) the text between two marker lines.
fn check_section(file: &str, begin: &str, end: &str, want: &str) {
    let path = common::repo_root().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let start = text.find(begin).unwrap_or_else(|| panic!("{file} lacks the marker {begin:?}")) + begin.len();
    let stop = text[start..].find(end).unwrap_or_else(|| panic!("{file} lacks the marker {end:?}")) + start;
    if std::env::var_os("RE_UPDATE_GENERATED").is_some() {
        std::fs::write(&path, format!("{}{}{}", &text[..start], want, &text[stop..])).unwrap();
        return;
    }
    assert!(text[start..stop] == *want, "{file} is stale between {begin:?} and {end:?}: run `make generate`");
}

/// Checks (or, with `RE_UPDATE_GENERATED`, rewrites) a whole generated file.
fn check_file(file: &str, want: &str) {
    let path = common::repo_root().join(file);
    if std::env::var_os("RE_UPDATE_GENERATED").is_some() {
        std::fs::write(&path, want).unwrap();
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}: run `make generate`"));
    assert!(text == want, "{file} is stale: run `make generate`");
}

#[test]
fn go_copies_match_the_engines_definitions() {
    check_file("go-processor/internal/engine/stats_generated.go", &go_copies::stats());
    check_file("go-processor/internal/engine/stats_cgo_generated.go", &go_copies::stats_from_c());
    check_file("go-processor/internal/engine/fields_generated.go", &go_copies::fields());
    check_file(
        "go-processor/resourceequalityprocessor/engine_metrics_generated.go",
        &go_copies::metric_registrations(),
    );
}

#[test]
fn readme_rule_table_matches_the_rule_data() {
    check_section(
        "README.md",
        "<!-- BEGIN GENERATED RULE TABLE: edit rust/rules/builtin.json, then run `make generate` -->\n",
        "<!-- END GENERATED RULE TABLE -->",
        &rule_table::markdown(resourceequality::builtin_rules()),
    );
}

#[test]
fn readme_engine_metrics_match_the_stats() {
    let mut table = String::from("| metric | kind | meaning |\n|---|---|---|\n");
    for m in metrics() {
        let kind = match m.kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
        };
        table.push_str(&format!("| `otelcol_processor_resourceequality_{}` | {kind} | {} |\n", m.name, m.description));
    }
    check_section(
        "README.md",
        "<!-- BEGIN GENERATED ENGINE METRICS: edit rust/src/stats.rs, then run `make generate` -->\n",
        "<!-- END GENERATED ENGINE METRICS -->",
        &table,
    );
}

/// Marks a metric of `metadata.yaml` as generated from `rust/src/stats.rs`.
const GENERATED_METRIC: &str = "      # generated from rust/src/stats.rs: edit it, then run `make generate`\n";

/// `metadata.yaml` with its engine metrics generated from the stats, merged in key order with
/// the processor's own metrics (mdatagen wants the keys sorted).
fn metadata_with_engine_metrics(text: &str) -> String {
    const METRICS: &str = "telemetry:\n  metrics:\n";
    let at = text.find(METRICS).expect("metadata.yaml has telemetry.metrics") + METRICS.len();
    let (head, rest) = text.split_at(at);
    let mut blocks: Vec<String> = Vec::new();
    for line in rest.split_inclusive('\n') {
        if line.starts_with("    ") && !line.starts_with("     ") || blocks.is_empty() {
            blocks.push(String::new());
        }
        blocks.last_mut().unwrap().push_str(line);
    }
    blocks.retain(|b| !b.contains(GENERATED_METRIC));
    for m in metrics() {
        let description = serde_json::to_string(m.description).unwrap();
        let unit = serde_json::to_string(m.unit).unwrap();
        let mut b = format!(
            "    processor_resourceequality_{}:\n{GENERATED_METRIC}      enabled: true\n      stability: development\n      description: {description}\n      unit: {unit}\n",
            m.name
        );
        b.push_str(match m.kind {
            MetricKind::Counter => {
                "      sum:\n        async: true\n        value_type: int\n        monotonic: true\n"
            }
            MetricKind::Gauge => "      gauge:\n        async: true\n        value_type: int\n",
        });
        blocks.push(b);
    }
    blocks.sort();
    format!("{head}{}", blocks.concat())
}

#[test]
fn component_metadata_engine_metrics_match_the_stats() {
    let path = common::repo_root().join("go-processor/resourceequalityprocessor/metadata.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let want = metadata_with_engine_metrics(&text);
    if std::env::var_os("RE_UPDATE_GENERATED").is_some() {
        std::fs::write(&path, want).unwrap();
        return;
    }
    assert!(text == want, "metadata.yaml's engine metrics are stale: run `make generate`");
}

/// The version has one source, `rust/Cargo.toml`; the header's define and the distribution's
/// version are copies this test checks.
#[test]
fn versions_match_the_crate() {
    let version = env!("CARGO_PKG_VERSION");
    let read = |file: &str| std::fs::read_to_string(common::repo_root().join(file)).unwrap();
    assert!(
        read("rust/cbindgen.toml").contains(&format!("#define RESOURCEEQUALITY_VERSION \\\"{version}\\\"")),
        "rust/cbindgen.toml's RESOURCEEQUALITY_VERSION is not {version}"
    );
    assert!(
        read("include/resourceequality.h").contains(&format!("#define RESOURCEEQUALITY_VERSION \"{version}\"")),
        "the header's version is not {version}: run `make header`"
    );
    assert!(
        read("collector-builder.yaml")
            .lines()
            .any(|l| l.trim().split(" #").next() == Some(&format!("version: {version}"))),
        "collector-builder.yaml's dist version is not {version}"
    );
    // The engine's platform module is released with the engine: the processor requires it at
    // the engine's version.
    assert!(
        read("go-processor/go.mod").lines().any(|l| l.trim()
            == format!("github.com/resourceequality/resourceequality/go-processor/platform/linux-amd64 v{version}")),
        "go-processor/go.mod does not require the platform module at v{version}"
    );
}

/// The README's configuration examples state the engine's defaults: for every scalar default of
/// `EngineConfig` (and of `partition`), a README line `key: value` whose value the engine reads as
/// that default (`ttl: 1h` is 3600 seconds), so that a default changed in `rust/src/config.rs`
/// fails here until the README says it too.
#[test]
fn readme_states_the_engines_defaults() {
    for readme in ["README.md", "go-processor/resourceequalityprocessor/README.md"] {
        states_the_engines_defaults(readme);
    }
}

fn states_the_engines_defaults(file: &str) {
    use serde_json::{Value as J, json};
    let readme = std::fs::read_to_string(common::repo_root().join(file)).unwrap();
    let defaults = serde_json::to_value(resourceequality::EngineConfig::default()).unwrap();
    let scalars = |v: &J| v.as_object().unwrap().clone().into_iter().filter(|(_, v)| !v.is_object() && !v.is_array());
    let top = scalars(&defaults).map(|(k, v)| (k, v, None));
    let partition = scalars(&defaults["partition"]).map(|(k, v)| (k, v, Some("partition")));
    for (key, default, section) in top.chain(partition) {
        let stated: Vec<J> = readme
            .lines()
            .filter_map(|l| {
                let rest = l.trim_start().trim_start_matches("# ").strip_prefix(&format!("{key}: "))?;
                let token = rest.split_whitespace().next()?;
                Some(serde_json::from_str::<J>(token).unwrap_or_else(|_| J::String(token.into())))
            })
            .collect();
        let reads_as_default = |value: &J| {
            let config = match section {
                Some(s) => json!({s: {key.as_str(): value}}),
                None => json!({key.as_str(): value}),
            };
            let Ok(read) = resourceequality::parse_config(config.to_string().as_bytes()) else { return false };
            let read = serde_json::to_value(read).unwrap();
            let read = match section {
                Some(s) => &read[s][&key],
                None => &read[&key],
            };
            *read == default
        };
        assert!(
            stated.iter().any(reads_as_default),
            "{file} states {key}: {stated:?}, none of them the default {default}"
        );
    }
}
