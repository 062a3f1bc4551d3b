"""`LocalAws` itself, in this process: what is created and skipped, the S3 folder mirror, the
tables that outlive the server, the process environment; and choosing it (`--aws`, cirrus.yml)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cirrostratus.aws.local import AwsConfigError, chosen_aws
from cirrostratus.aws.local.session import LocalAws
from cirrostratus.project import Project
from cirrostratus.runtime.env import StackContext, task_environment
from cirrostratus.storage.locations import Locations

CIRRO = [sys.executable, "-m", "cirrostratus"]
ENGINE_PROJECT = Path(__file__).parents[2] / "engine" / "fixtures" / "project"


class _Config:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.root = Path("/somewhere")


def test_the_option_wins_then_cirrus_yml_then_none() -> None:
    local = _Config({"custom": {"cirro": {"aws": "local"}}})
    assert chosen_aws(local, None) == "local"
    assert chosen_aws(local, "none") == "none"
    assert chosen_aws(_Config({}), None) == "none"
    assert chosen_aws(_Config({}), "local") == "local"
    with pytest.raises(AwsConfigError) as err:
        chosen_aws(_Config({"custom": {"cirro": {"aws": "yes"}}}), None)
    assert str(err.value).startswith(
        "/somewhere/cirrus.yml: custom.cirro.aws is 'yes'; use `local`"
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(ENGINE_PROJECT, root)
    return root


@pytest.fixture
def local_aws(project: Path) -> Any:
    loaded = Project.load(project)
    local = LocalAws(loaded, Locations.for_project(project).ensure())
    local.start()
    yield local
    local.close()


def test_creates_what_task_code_calls_and_lists_the_rest(local_aws: LocalAws) -> None:
    created = local_aws.created
    kinds = set(created.kinds.values())
    assert {"AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::DynamoDB::Table"} <= kinds
    buckets = local_aws.client("s3").list_buckets()["Buckets"]  # no Data resource: <stack>-data
    assert {b["Name"] for b in buckets} == {"enginetest-dev-data", "enginetest-dev-payloads"}
    assert created.skipped["BatchJobRole"] == "AWS::IAM::Role"
    assert created.skipped["LambdaAsBatchJob"] == "AWS::Batch::JobDefinition"
    assert "IAM x" in created.summary() and "Batch x" in created.summary()
    assert "2 secrets" in created.summary()  # cirrus-creds-<bucket> for data and payloads
    assert created.kinds["cirrus-creds-enginetest-dev-data"] == "AWS::SecretsManager::Secret"
    sqs = local_aws.client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=created.refs["ProcessQueue"]["Ref"], AttributeNames=["All"]
    )["Attributes"]
    policy = json.loads(attributes["RedrivePolicy"])
    assert policy["deadLetterTargetArn"] == created.refs["ProcessDeadLetterQueue"]["Arn"]
    assert attributes["VisibilityTimeout"] == "60"


def test_task_environments_resolve_refs_to_local_resources(local_aws: LocalAws) -> None:
    env = task_environment(
        {"QUEUE": {"Ref": "ProcessQueue"}, "GONE": {"Ref": "NotHere"}},
        StackContext(service="enginetest"),
        local_aws.locations.cirrus_environment(),
    )
    assert env["QUEUE"] == local_aws.created.refs["ProcessQueue"]["Ref"]
    assert "GONE" not in env  # what exists nowhere here is dropped, as before
    assert env["CIRRUS_DATA_BUCKET"] == local_aws.data_bucket == "enginetest-dev-data"
    assert env["CIRRO_FUNCTION_PREFIX"] == "enginetest-dev-"


def test_the_data_bucket_is_the_data_folder(local_aws: LocalAws) -> None:
    s3 = local_aws.client("s3")
    folder = Path(local_aws.mirrored[local_aws.data_bucket])
    assert folder == local_aws.locations.root / "data"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "one.json").write_text("{}")
    head = s3.head_object(Bucket=local_aws.data_bucket, Key="a/one.json")  # read through
    assert head["ContentLength"] == 2
    s3.put_object(Bucket=local_aws.data_bucket, Key="a/two.json", Body=b"[]")
    assert (folder / "a" / "two.json").read_bytes() == b"[]"
    listed = s3.list_objects_v2(Bucket=local_aws.data_bucket, Prefix="a/")["Contents"]
    assert sorted(o["Key"] for o in listed) == ["a/one.json", "a/two.json"]
    s3.copy_object(
        Bucket=local_aws.data_bucket,
        Key="b/copy.json",
        CopySource=f"{local_aws.data_bucket}/a/one.json",
    )
    assert (folder / "b" / "copy.json").read_text() == "{}"
    s3.delete_object(Bucket=local_aws.data_bucket, Key="a/one.json")
    assert not (folder / "a" / "one.json").exists()


def test_the_engine_process_points_at_moto_only_while_it_runs(project: Path) -> None:
    before = os.environ.get("AWS_ENDPOINT_URL")
    local = LocalAws(Project.load(project), Locations.for_project(project).ensure())
    local.start()
    try:
        assert os.environ["AWS_ENDPOINT_URL"] == local.endpoint
        import fsspec

        local.client("s3").put_object(Bucket=local.payload_bucket, Key="k.json", Body=b"1")
        with fsspec.open(f"s3://{local.payload_bucket}/k.json", "rb") as fh:
            assert fh.read() == b"1"
    finally:
        local.close()
    assert os.environ.get("AWS_ENDPOINT_URL") == before


def test_table_items_outlive_the_server(project: Path) -> None:
    loaded = Project.load(project)
    first = LocalAws(loaded, Locations.for_project(project).ensure())
    first.start()
    table = first.created.refs["StateTable"]["Ref"]
    item = {"collections_workflow": {"S": "c_w"}, "itemids": {"S": "i"}, "n": {"N": "3"}}
    first.client("dynamodb").put_item(TableName=table, Item=item)
    first.close()
    assert (project / ".cirro/aws/dynamodb" / f"{table}.json").is_file()

    second = LocalAws(loaded, Locations.for_project(project).ensure())
    second.start()
    try:
        key = {"collections_workflow": {"S": "c_w"}, "itemids": {"S": "i"}}
        got = second.client("dynamodb").get_item(TableName=table, Key=key)["Item"]
        assert got == item
        assert second.restored_items == 1
    finally:
        second.close()


def _cirro(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CIRRO, "--project", str(project), *args], capture_output=True, text=True, timeout=200
    )


def _payload(project: Path) -> str:
    payload = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "id": "x1", "collection": "c", "properties": {}}],
        "process": {"workflow": "noop3", "upload_options": {}, "tasks": {}},
    }
    path = project / "payload.json"
    path.write_text(json.dumps(payload))
    return str(path)


def test_cirrus_yml_makes_it_the_default_and_aws_none_turns_it_off(project: Path) -> None:
    with (project / "cirrus.yml").open("a") as config:
        config.write("\ncustom:\n  cirro:\n    aws: local\n")
    on = _cirro(project, "run", _payload(project))
    assert on.returncode == 0, on.stderr
    assert "local AWS at http://127.0.0.1:" in on.stderr
    assert (project / ".cirro/aws/dynamodb").is_dir()
    off = _cirro(project, "run", "-q", "--aws", "none", "--replace", _payload(project))
    assert off.returncode == 0, off.stderr
    assert "local AWS" not in off.stderr


def test_a_bad_custom_cirro_aws_is_a_usage_error(project: Path) -> None:
    with (project / "cirrus.yml").open("a") as config:
        config.write("\ncustom:\n  cirro:\n    aws: moto\n")
    done = _cirro(project, "run", _payload(project))
    assert done.returncode == 2
    assert "cirrus.yml: custom.cirro.aws is 'moto'; use `local`" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_resource_moto_refuses_is_reported_and_the_rest_created(project: Path) -> None:
    (project / "cloudformation").mkdir(exist_ok=True)
    (project / "cloudformation" / "broken.yml").write_text(
        "Resources:\n  Broken:\n    Type: AWS::DynamoDB::Table\n    Properties:\n"
        "      TableName: broken\n      KeySchema: []\n"
    )
    local = LocalAws(Project.load(project), Locations.for_project(project).ensure())
    local.start()
    try:
        assert local.created.failed["Broken"].startswith(("ClientError", "ParamValidationError"))
        assert "could not create Broken" in local.created.summary()
        assert "StateTable" in local.created.refs
    finally:
        local.close()


def test_task_run_of_a_module_outside_any_project(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(
        "import os\n\nimport boto3\n\n\ndef handler(event, context=None):\n"
        "    bucket = os.environ['CIRRUS_DATA_BUCKET']\n"
        "    boto3.client('s3').put_object(Bucket=bucket, Key='x.txt', Body=b'x')\n"
        "    return {'bucket': bucket}\n"
    )
    (tmp_path / "p.json").write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    done = subprocess.run(
        [*CIRRO, "task", "run", "--aws", "local", "mod.py:handler", "p.json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"bucket": "cirrus-dev-data"}  # serverless' defaults
    assert (tmp_path / ".cirro" / "data" / "x.txt").read_bytes() == b"x"
    assert "2 buckets, 2 secrets" in done.stderr
