#!/usr/bin/env bash
# The CLI-level suites against the Node artefacts (docs/distribution.md): builds dist/vmctl.mjs,
# fetches pinned Node 20 and 22 from npm (`npx -y node@N`) and runs the same test files, with the
# same expected outputs, through `node dist/vmctl.mjs` (VMCTL_TEST_RUNTIME=node); `sea` builds the
# Node single executable from Node 22's binary and runs them through it with no node or deno on
# its PATH; `guest` runs the real QEMU guest test once on Node 22.
#
# Usage: scripts/test_node.sh [20|22|sea|guest]...   (default: 20 22 sea)
# Each run is one `deno test` with its own "ok | N passed | N failed" summary (.ci/run sums them).
set -uo pipefail
cd "$(dirname "$0")/.."
DENO=${DENO:-"npx -y deno@2.9.6"}

# The CLI-level suites of issue 16: noop lifecycle, VMFile validation, seed, image pull/import
# against a local HTTP server, zones end to end against the fake illumos tools, the artefacts.
SUITES=(
  tests/integration/cli_lifecycle_test.ts
  tests/integration/cli_declarative_test.ts
  tests/integration/cli_interrupt_test.ts
  tests/integration/cli_json_test.ts
  tests/integration/vmfile_cli_test.ts
  tests/integration/cli_file_checks_test.ts
  tests/integration/seed_cli_test.ts
  tests/integration/seed_vm_create_test.ts
  tests/integration/image_cli_test.ts
  tests/integration/image_download_test.ts
  tests/integration/image_import_test.ts
  tests/integration/zone_*_test.ts
  tests/integration/propolis_create_test.ts
  tests/integration/propolis_lifecycle_test.ts
  tests/integration/artefacts_test.ts
)
GUEST=(tests/integration/qemu_guest_lifecycle_test.ts)

# node_bin MAJOR: the path of the pinned Node binary from the npm `node` package.
node_bin() {
  npx -y "node@$1" -p process.execPath
}

build_node() {
  [ -n "${built:-}" ] && return 0
  $DENO task build:node || return 1
  built=1
}

# suite LABEL FILES...: one `deno test` of FILES with the runtime set in the environment.
suite() {
  local label=$1
  shift
  echo "test_node: ${label}"
  $DENO test --allow-all --parallel "$@"
}

rc=0
runs=("$@")
[ ${#runs[@]} -eq 0 ] && runs=(20 22 sea)
for run in "${runs[@]}"; do
  case $run in
  20 | 22)
    build_node || exit 1
    node=$(node_bin "$run") || exit 1
    VMCTL_TEST_RUNTIME=node VMCTL_TEST_NODE=$node suite "Node $run ($node)" "${SUITES[@]}" || rc=1
    ;;
  guest)
    build_node || exit 1
    node=$(node_bin 22) || exit 1
    VMCTL_TEST_RUNTIME=node VMCTL_TEST_NODE=$node suite "real QEMU guest on Node 22" \
      "${GUEST[@]}" || rc=1
    ;;
  sea)
    node=$(node_bin 22) || exit 1
    $DENO task build:sea --node "$node" || exit 1
    # The artefacts test needs a node of its own; the single executable does not.
    VMCTL_TEST_RUNTIME="exe:$PWD/dist/vmctl-sea" VMCTL_TEST_NODE=$node suite "Node SEA (dist/vmctl-sea)" \
      "${SUITES[@]}" || rc=1
    ;;
  *)
    echo "test_node: unknown run ${run}; expected 20, 22, sea or guest" >&2
    exit 2
    ;;
  esac
done
exit "$rc"
