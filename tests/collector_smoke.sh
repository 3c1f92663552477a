#!/usr/bin/env bash
# Checks the built distribution: it runs on its own, lists the processor, accepts the example
# configurations and rejects a bad rule with the engine's message.
set -euo pipefail
bin=${1:?usage: collector_smoke.sh path/to/otelcol-resourceequality}
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "collector smoke: $*" >&2; exit 1; }

# Statically linked engine: nothing outside the system's libraries.
if ldd "$bin" | grep -v -E 'linux-vdso|ld-linux|lib(c|m|pthread|dl|rt|util|gcc_s|resolv)\.so' | grep -q '=>'; then
  ldd "$bin"; fail "depends on a library outside the system's"
fi
"$bin" components | grep -q -E '^\s*- name: resourceequality$' || fail "components does not list resourceequality"
for cfg in "$here"/../examples/*.yaml "$here"/../examples/*/*.yaml; do
  [ -e "$cfg" ] || continue
  "$bin" validate --config "$cfg" >/dev/null || fail "validate rejected $cfg"
done
bad=$(mktemp)
trap 'rm -f "$bad"' EXIT
cat > "$bad" <<'YAML'
receivers: {otlp: {protocols: {grpc: {endpoint: localhost:0}}}}
processors:
  resourceequality:
    rules:
      - name: broken
        type: my.thing
        identity: [["my.id?"]]
exporters: {debug: {}}
service: {pipelines: {logs: {receivers: [otlp], processors: [resourceequality], exporters: [debug]}}}
YAML
if out=$("$bin" validate --config "$bad" 2>&1); then fail "validate accepted a bad rule"; fi
grep -q 'rule "broken" (rules\[0\]): identity\[0\]: an alternative needs at least one required key' <<<"$out" \
  || { echo "$out"; fail "the bad rule's message is not the engine's"; }
echo "collector smoke: 4 passed, 0 failed"
