"""Amazon States Language: compile, check and run Step Functions definitions locally.

    sm = compile_definition(definition, name="mirror")
    result = await sm.execute(payload, invoker=my_invoker)
    result.status, result.output, result.error, result.cause, result.history

No I/O happens here: Task states call the injected invoker, time comes from a Clock.
"""

from cirrostratus.asl.check import check_definition
from cirrostratus.asl.clock import Clock, SystemClock, VirtualClock
from cirrostratus.asl.context import ExecutionResult, Invoker, TaskContext
from cirrostratus.asl.errors import AslDefinitionError, AslProblem, TaskFailed
from cirrostratus.asl.history import HistoryEvent, StateSpan, state_spans
from cirrostratus.asl.machine import Execution, StateMachine, compile_definition

__all__ = [
    "AslDefinitionError",
    "AslProblem",
    "Clock",
    "Execution",
    "ExecutionResult",
    "HistoryEvent",
    "Invoker",
    "StateMachine",
    "StateSpan",
    "SystemClock",
    "TaskContext",
    "TaskFailed",
    "VirtualClock",
    "check_definition",
    "compile_definition",
    "state_spans",
]
