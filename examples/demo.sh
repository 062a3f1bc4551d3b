#!/usr/bin/env bash
# `make demo`: the main job on a fresh machine.
#  1. scaffold a Cirrus project the way `cirrus init` / `cirrus create` do, and validate it;
#  2. run the sample project (examples/sample-project) on generated payloads through the
#     embedded engine: Lambda tasks in warm workers, a Batch job, publish, a chain;
#  3. look at the state: a query, one payload's record and timings, the published items.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cirro="$here/.venv/bin/cirro"
python="$here/.venv/bin/python"
work="$(mktemp -d "${TMPDIR:-/tmp}/cirro-demo.XXXXXX")"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. a fresh Cirrus project in $work/scaffold"
"$cirro" init "$work/scaffold"
(
  cd "$work/scaffold"
  "$cirro" create task -t lambda lambda-task "A lambda-only task"
  "$cirro" create task -t batch batch-task "A batch-only task"
  "$cirro" create task -t lambda -t batch dual-task "A task that runs on Lambda or Batch"
  "$cirro" create workflow my-workflow "Each kind of task, then publish" \
    --task lambda-task --task batch-task --task dual-task --task publish
  "$cirro" create feeder my-feeder "A feeder"
  "$cirro" show tasks
  "$cirro" validate
  "$cirro" run workflows/my-workflow/test-payload.json   # the example payload create wrote
)

step "2. the sample project, on 300 generated payloads (every 60th on Batch, 3 chained)"
cp -r "$here/examples/sample-project" "$work/sample"
"$python" "$here/examples/make_payloads.py" "$work/payloads" --count 300 --batch-every 60 --chain 3
"$cirro" --project "$work/sample" validate
"$cirro" --project "$work/sample" run "$work/payloads/*.json"

step "3. what the state database says"
"$cirro" --project "$work/sample" query --workflow sample-pipeline --limit 5
"$cirro" --project "$work/sample" query --counts
one="sample-scenes/workflow-sample-pipeline/SAMPLE_000000"
"$cirro" --project "$work/sample" payload state "$one"
"$cirro" --project "$work/sample" payload logs "$one" | sed -n 1,5p

step "published items (the data store, .cirro/data)"
find "$work/sample/.cirro/data" -name '*.json' | sort | sed -n 1,5p
echo "... $(find "$work/sample/.cirro/data" -name '*.json' | wc -l) items in all"

step "4. a payload that fails validation in a task: INVALID, and cirro run exits 1"
"$python" "$here/examples/make_payloads.py" "$work/bad" --count 0 --invalid 1 --start 9000 >/dev/null
if "$cirro" --project "$work/sample" run "$work/bad/*.json"; then
  echo "expected exit code 1" >&2
  exit 1
fi
echo "(exit code 1, as expected: the task raised InvalidInput)"
echo
echo "Everything is in $work: try \`cirro --project $work/sample query --state INVALID\`."
