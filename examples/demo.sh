#!/usr/bin/env bash
# `make demo`: the main job on a fresh machine.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cirro="$here/.venv/bin/cirro"
work="$(mktemp -d "${TMPDIR:-/tmp}/cirro-demo.XXXXXX")"
echo "== a fresh Cirrus project in $work"
"$cirro" init "$work"
cd "$work"
"$cirro" create task -t lambda lambda-task "A lambda-only task"
"$cirro" create task -t batch batch-task "A batch-only task"
"$cirro" create task -t lambda -t batch dual-task "A task that runs on Lambda or Batch"
"$cirro" create workflow my-workflow "A workflow"
"$cirro" create feeder my-feeder "A feeder"
echo "== cirro show tasks"
"$cirro" show tasks
echo "== cirro validate"
"$cirro" validate
