"""The SQS IntakeQueue against moto's server: send, lease, delete, dead letters, counts."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from cirrostratus.intake import IntakeError, IntakeQueue
from cirrostratus.intake.sqs import SqsIntakeQueue


@pytest.fixture
def queues(aws: Any, unique: str) -> tuple[str, str]:
    sqs = aws("sqs")
    dlq = sqs.create_queue(QueueName=f"{unique}-dead")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = orjson.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2}).decode()
    url = sqs.create_queue(QueueName=f"{unique}-process", Attributes={"RedrivePolicy": policy})[
        "QueueUrl"
    ]
    return url, dlq


def test_messages_round_trip_and_leases_hold(queues: tuple[str, str]) -> None:
    q = SqsIntakeQueue(queues[0])
    assert isinstance(q, IntakeQueue)
    first = q.send({"id": "a"})
    others = q.send_batch([{"id": str(i)} for i in range(12)], payload_ids=["p"] * 12)
    assert len(others) == 12 and first not in others
    got = []
    for _ in range(5):
        got += q.receive(10, visibility_timeout=30)
    assert sorted(m.json()["id"] for m in got) == sorted(["a", *map(str, range(12))])
    assert all(m.receive_count == 1 and m.sent > 0 for m in got)
    assert q.receive(10) == []  # all leased
    assert q.counts().in_flight == 13
    assert q.delete(got[0].receipt)
    assert q.delete_batch([m.receipt for m in got[1:]]) == 12
    assert q.counts().to_dict() == {"visible": 0, "in_flight": 0, "delayed": 0, "dead": 0}


def test_a_released_message_comes_back_and_sqs_dead_letters_it(queues: tuple[str, str]) -> None:
    q = SqsIntakeQueue(queues[0])
    assert q.dead_letter_url == queues[1]  # found through the RedrivePolicy
    q.send(b'{"id": "x"}')
    (m,) = q.receive(1, visibility_timeout=30)
    assert q.fail(m.receipt, "TaskError: no")
    (again,) = q.receive(1, visibility_timeout=30)
    assert again.id == m.id and again.receive_count == 2
    q.release(again.receipt)
    assert q.receive(1) == []  # over maxReceiveCount: SQS moved it
    dead = q.dead_letters()
    assert [d.id for d in dead] == [m.id] and dead[0].body == b'{"id": "x"}'
    assert q.redrive() == 1
    assert [x.json() for x in q.receive(1)] == [{"id": "x"}]


def test_dead_letters_keep_their_error_and_can_be_purged(queues: tuple[str, str]) -> None:
    q = SqsIntakeQueue(queues[0])
    a = q.dead_letter({"id": "a"}, "InvalidInput: bad")
    q.dead_letter({"id": "b"}, "Other: x")
    assert {d.id: d.error for d in q.dead_letters()}[a] == "InvalidInput: bad"
    assert q.purge_dead([a]) == 1
    assert [d.text for d in q.dead_letters()] == ['{"id":"b"}']
    assert q.counts().dead == 1
    assert q.purge_dead() == 1 and q.dead_letters() == []


def test_errors_say_what_to_set(aws: Any, unique: str) -> None:
    with pytest.raises(IntakeError, match="CIRRUS_PROCESS_QUEUE_URL"):
        SqsIntakeQueue("")
    bare = aws("sqs").create_queue(QueueName=f"{unique}-bare")["QueueUrl"]
    with pytest.raises(IntakeError, match="RedrivePolicy"):
        SqsIntakeQueue(bare).dead_letter({"id": "a"}, "x")
    with pytest.raises(IntakeError, match="UTF-8"):
        SqsIntakeQueue(bare).send(b"\xff\xfe")


def test_the_dead_letter_url_is_built_beside_the_queue_url() -> None:
    from cirrostratus.intake.sqs import queue_url_of

    arn = "arn:aws:sqs:us-west-2:123456789012:stack-dead"
    beside = "https://sqs.us-west-2.amazonaws.com/123456789012/stack-process"
    assert (
        queue_url_of(arn, beside) == "https://sqs.us-west-2.amazonaws.com/123456789012/stack-dead"
    )
    with pytest.raises(IntakeError, match="not an SQS queue ARN"):
        queue_url_of("arn:aws:sns:us-west-2:1:topic", beside)
