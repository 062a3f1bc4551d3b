from __future__ import annotations

from pathlib import Path

import pytest

from cirrostratus.project.yamlcfn import YamlError, load_file, loads


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!Ref Data", {"Ref": "Data"}),
        ("!GetAtt Queue.Arn", {"Fn::GetAtt": ["Queue", "Arn"]}),
        ("!GetAtt [Queue, Arn]", {"Fn::GetAtt": ["Queue", "Arn"]}),
        ("!GetAtt Vpc.Outputs.Id", {"Fn::GetAtt": ["Vpc", "Outputs.Id"]}),
        ("!Sub 'x-${AWS::Region}'", {"Fn::Sub": "x-${AWS::Region}"}),
        ("!Join ['', [a, !Ref B]]", {"Fn::Join": ["", ["a", {"Ref": "B"}]]}),
        ("!If [C, 1, 2]", {"Fn::If": ["C", 1, 2]}),
        ("!Select [0, !GetAZs '']", {"Fn::Select": [0, {"Fn::GetAZs": ""}]}),
        ("!Split [',', a]", {"Fn::Split": [",", "a"]}),
        ("!FindInMap [M, K, V]", {"Fn::FindInMap": ["M", "K", "V"]}),
        ("!ImportValue Out", {"Fn::ImportValue": "Out"}),
        ("!Base64 text", {"Fn::Base64": "text"}),
        ("!Cidr [10.0.0.0/16, 4, 8]", {"Fn::Cidr": ["10.0.0.0/16", 4, 8]}),
        ("!Equals [a, b]", {"Fn::Equals": ["a", "b"]}),
        (
            "!And [!Condition A, !Condition B]",
            {"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]},
        ),
        (
            "!Or [!Condition A, !Not [!Condition B]]",
            {"Fn::Or": [{"Condition": "A"}, {"Fn::Not": [{"Condition": "B"}]}]},
        ),
        ('!Sub ["${A}", {A: !Ref X}]', {"Fn::Sub": ["${A}", {"A": {"Ref": "X"}}]}),
    ],
)
def test_short_tags_load_as_long_form(text: str, expected: object) -> None:
    assert loads(text) == expected


def test_serverless_variables_stay_text() -> None:
    data = loads("a: ${self:custom.x}\nb: ${opt:region, 'us-west-2'}\nc: '#{AWS::Region}'\n")
    assert data == {
        "a": "${self:custom.x}",
        "b": "${opt:region, 'us-west-2'}",
        "c": "#{AWS::Region}",
    }


def test_python_tags_are_refused_not_executed() -> None:
    with pytest.raises(YamlError):
        loads("!!python/object/apply:os.system ['echo owned']")


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "definition.yml"
    path.write_text("a: 1\nb: [unclosed\n")
    with pytest.raises(YamlError, match=r"definition\.yml: line \d+: invalid YAML"):
        load_file(path)
