"""`Project.validate()`: each problem names its file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from cirrostratus.project import Problem, Project

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def problems() -> list[Problem]:
    return Project.load(FIXTURES / "broken", builtins_root=FIXTURES / "no-such-builtins").validate()


def find(problems: list[Problem], file: str, key: str) -> list[Problem]:
    return [p for p in problems if p.file == file and p.key == key]


def test_cirrus_yml_schema(problems: list[Problem]) -> None:
    [problem] = find(problems, "cirrus.yml", "service")
    assert problem.severity == "error" and problem.message == "must be string"


def test_lambda_limits_warn_and_suggest_batch(problems: list[Problem]) -> None:
    [timeout] = find(problems, "tasks/slow/definition.yml", "lambda.timeout")
    [memory] = find(problems, "tasks/slow/definition.yml", "lambda.memorySize")
    assert timeout.severity == memory.severity == "warning"
    assert "900 s" in timeout.message and "batch" in timeout.message
    assert "128-10240 MB" in memory.message


def test_missing_readme_warns(problems: list[Problem]) -> None:
    readme = [p for p in problems if "README" in p.message]
    assert [p.file for p in readme] == ["tasks/slow/definition.yml"]


def test_missing_handler_module_is_an_error(problems: list[Problem]) -> None:
    [problem] = find(problems, "tasks/nohandler/definition.yml", "lambda.handler")
    assert problem.severity == "error" and "missing_module.py" in problem.message


def test_wrong_types_reported_once_per_key(problems: list[Problem]) -> None:
    file = "tasks/badtypes/definition.yml"
    assert len(find(problems, file, "environment")) == 1
    assert len(find(problems, file, "batch.local.command")) == 1
    [bad_schema] = find(problems, file, "parameters")
    assert "not a valid JSON Schema" in bad_schema.message
    [timeout] = find(problems, file, "lambda.timeout")
    assert timeout.severity == "warning" and "using 6" in timeout.message
    [job] = find(problems, file, "batch.resources.Resources.BadJob")
    assert "Image" in job.message


def test_unparsable_and_missing_definitions(problems: list[Problem]) -> None:
    [bad] = find(problems, "tasks/badyaml/definition.yml", "")
    assert bad.severity == "error" and bad.message.startswith("line 2: invalid YAML")
    [missing] = find(problems, "tasks/nodef/definition.yml", "")
    assert missing.severity == "warning"


def test_workflow_references(problems: list[Problem]) -> None:
    file = "workflows/bad/definition.yml"
    [ghost] = find(problems, file, "definition.States.ghost.Resource")
    assert ghost.severity == "error" and "'ghost'" in ghost.message
    [off] = find(problems, file, "definition.States.switched-off.Resource")
    assert off.severity == "warning" and "disabled" in off.message
    [queue] = find(problems, file, "definition.States.batch.Parameters.JobQueue")
    assert queue.severity == "error" and "#{NoSuchQueue}" in queue.message
    assert find(problems, file, "definition.States.batch.Parameters.JobDefinition") == []
    [name] = find(problems, file, "name")
    assert name.severity == "warning"


def test_workflow_without_definition(problems: list[Problem]) -> None:
    [problem] = find(problems, "workflows/noasl/definition.yml", "definition")
    assert problem.severity == "error"


def test_problem_text_names_file_and_key() -> None:
    problem = Problem("error", "tasks/a/definition.yml", "lambda.timeout", "must be integer")
    assert str(problem) == "error: tasks/a/definition.yml: lambda.timeout: must be integer"
    assert problem.to_dict()["key"] == "lambda.timeout"


def test_valid_project_has_no_problems() -> None:
    problems = Project.load(FIXTURES / "envproject", builtins_root=FIXTURES / "none").validate()
    assert [p for p in problems if p.severity == "error"] == [], problems


def test_asl_checker_problems_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """The asl package's check_definition results become errors keyed by state."""
    from types import SimpleNamespace

    from cirrostratus.project import validation

    def fake_check(definition: dict[str, object]) -> list[object]:
        return [SimpleNamespace(state="both-lambda", message="Next state 'x' does not exist")]

    monkeypatch.setattr(validation, "_asl_checker", lambda: fake_check)
    problems = Project.load(FIXTURES / "envproject", builtins_root=FIXTURES / "none").validate()
    [problem] = [p for p in problems if p.key == "definition.States.both-lambda"]
    assert problem.file == "workflows/flow/definition.yml" and problem.severity == "error"


def test_workflow_test_payload_checked_against_task_parameters(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(FIXTURES / "envproject", tmp_path / "p")
    (tmp_path / "p/workflows/flow/test-payload.json").write_text(
        '{"features": [], "process": [{"workflow": "flow", "tasks": {"both": {"assets": 1}}}]}'
    )
    problems = Project.load(tmp_path / "p", builtins_root=tmp_path / "none").validate()
    [problem] = [p for p in problems if p.file.endswith("test-payload.json")]
    assert (problem.severity, problem.key, problem.message) == (
        "warning",
        "process.tasks.both.assets",
        "must be array",
    )


def test_asl_static_checks_run_on_workflows(problems: list[Problem]) -> None:
    """With the asl package present, its checks report per state and field."""
    pytest.importorskip("cirrostratus.asl")
    [problem] = find(problems, "workflows/badasl/definition.yml", "definition.States.first.Next")
    assert problem.severity == "error" and "nowhere" in problem.message


def test_lambda_name_shared_by_two_groups_warns(tmp_path: Path) -> None:
    from cirrostratus.project import create_component, init_project

    init_project(tmp_path)
    create_component(tmp_path, "function", "same", "A function")
    create_component(tmp_path, "task", "same", "A task", ["lambda"])
    problems = Project.load(str(tmp_path), builtins_root=tmp_path / "none").validate()
    [problem] = [p for p in problems if p.key == "lambda"]
    assert problem.file == "tasks/same/definition.yml" and "function" in problem.message


def test_tasks_that_call_aws_themselves_are_named_with_file_and_line(tmp_path: Path) -> None:
    from cirrostratus.project import create_component, init_project

    init_project(tmp_path)
    for name in ("plain", "boto", "lib2"):
        create_component(tmp_path, "task", name, "A task", ["lambda"])
    boto = tmp_path / "tasks" / "boto"
    (boto / "lambda_function.py").write_text(
        '"""import boto3 in a docstring is not an import."""\nimport os\nimport boto3.session\n'
    )
    (boto / "helpers").mkdir()
    (boto / "helpers" / "sns.py").write_text("def f():\n    from cirrus.lib.utils import x\n")
    (boto / "broken.py").write_text("def (:\n")  # not Python: skipped, not a crash
    lib2 = tmp_path / "tasks" / "lib2"
    (lib2 / "lambda_function.py").write_text("from cirrus import lib2\n")
    vendored = lib2 / "cirrus" / "lib2"  # as Cirrus's build vendors it: not the task's own code
    vendored.mkdir(parents=True)
    (vendored / "utils.py").write_text("import boto3\n")

    problems = Project.load(str(tmp_path), builtins_root=tmp_path / "none").validate()
    aws = {p.file: p for p in problems if "calls AWS itself" in p.message}
    assert set(aws) == {"tasks/boto/definition.yml", "tasks/lib2/definition.yml"}
    assert aws["tasks/boto/definition.yml"].severity == "warning"
    assert aws["tasks/boto/definition.yml"].message == (
        "this task calls AWS itself (imports boto3 in tasks/boto/lambda_function.py:3, "
        "cirrus.lib in tasks/boto/helpers/sns.py:2); run it with `--aws local` (or "
        "`aws: local` under custom.cirro in cirrus.yml), which gives it moto's AWS with the "
        "project's buckets, table, queues and topics"
    )
    assert "imports cirrus.lib2 in tasks/lib2/lambda_function.py:1)" in (
        aws["tasks/lib2/definition.yml"].message
    )
