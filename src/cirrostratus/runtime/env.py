"""What a task's environment means on this machine.

A project's environment values are data as written in cirrus.yml and definition.yml:
plain scalars, serverless variables (`${self:service}`, `${opt:stage, 'dev'}`,
`${env:X}`), CloudFormation pseudo parameters (`#{AWS::StackName}`) and intrinsics
(`!Ref Data`, `!GetAtt Queue.Arn`). Locally, scalars become strings, the variables we can
answer are filled in, and anything that only means something inside a deployed stack is
dropped — except the CIRRUS_* locations, which `Locations.cirrus_environment()` answers with
the local folders (or the URLs the user configured).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LOCAL_ACCOUNT = "000000000000"
FUNCTION_PREFIX = "CIRRO_FUNCTION_PREFIX"
"""Set (by `--aws local`) to `<service>-<stage>-`: a lambda's AWS_LAMBDA_FUNCTION_NAME is then
its deployed name, as Cirrus's code expects."""

# what a worker inherits from the parent process: enough to find programs, locales and the
# user's AWS credentials (a deployed Lambda gets its role's credentials the same way)
PASSTHROUGH = (
    "PATH",
    "LANG",
    "LC_ALL",
    "HOME",
    "USER",
    "SYSTEMROOT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "VIRTUAL_ENV",
    "CUDA_VISIBLE_DEVICES",
)

_VAR = re.compile(r"\$\{([^{}]+)\}")
_PSEUDO = re.compile(r"#\{(AWS::[A-Za-z]+)\}")


class Unresolvable(ValueError):
    """A value that only a deployed stack can answer."""


@dataclass(frozen=True)
class StackContext:
    """The few stack facts a local run can answer: service, stage, region."""

    service: str = "cirrus"
    stage: str = "dev"
    region: str = "us-west-2"

    @property
    def stack_name(self) -> str:
        return f"{self.service}-{self.stage}"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], region: str | None = None) -> StackContext:
        """Read `service`, `provider.stage` and `provider.region` (serverless defaults)."""
        provider = config.get("provider") or {}
        ctx = cls(service=str(config.get("service") or "cirrus"))
        stage = provider.get("stage")
        stage_s = _default_of(stage) if isinstance(stage, str) else None
        reg = region or (
            _default_of(provider["region"]) if isinstance(provider.get("region"), str) else None
        )
        return cls(
            service=ctx.service,
            stage=stage_s or "dev",
            region=reg or "us-west-2",
        )

    def pseudo(self, name: str) -> str:
        """`AWS::Region`, `AWS::StackName`, `AWS::AccountId`, `AWS::Partition`, ..."""
        values = {
            "AWS::Region": self.region,
            "AWS::StackName": self.stack_name,
            "AWS::AccountId": LOCAL_ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name not in values:
            raise Unresolvable(name)
        return values[name]

    def variable(self, expr: str) -> str:
        """A serverless variable: self:service, self:provider.stage/region, opt:x, env:X."""
        source, _, default = expr.partition(",")
        source = source.strip()
        if source == "self:service":
            return self.service
        if source == "self:provider.stage" or source == "opt:stage":
            return self.stage
        if source == "self:provider.region" or source == "opt:region":
            return self.region
        if source.startswith("env:") and source[4:] in os.environ:
            return os.environ[source[4:]]
        default = default.strip().strip("'\"")
        if default:
            return default
        raise Unresolvable(expr)

    def string(self, text: str) -> str:
        """Fill `${...}` and `#{AWS::...}` in a string; raise Unresolvable if any is unknown."""
        text = _VAR.sub(lambda m: self.variable(m.group(1)), text)
        return _PSEUDO.sub(lambda m: self.pseudo(m.group(1)), text)


def _default_of(value: str) -> str | None:
    """`${opt:stage, 'dev'}` → `dev`; a plain string → itself."""
    m = _VAR.fullmatch(value.strip())
    if not m:
        return value
    _, _, default = m.group(1).partition(",")
    return default.strip().strip("'\"") or None


def local_value(
    value: Any, stack: StackContext, refs: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """One environment value as a local string, or Unresolvable.

    `refs` answers `!Ref X` / `!GetAtt X.Attr` for resources that exist here (the local AWS
    of `--aws local` gives a bucket's name, a queue's URL, a topic's ARN)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return stack.string(value)
    if isinstance(value, Mapping) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str) and arg.startswith("AWS::"):
            return stack.pseudo(arg)
        if key == "Ref" and isinstance(arg, str) and refs and "Ref" in refs.get(arg, {}):
            return refs[arg]["Ref"]
        if key == "Fn::GetAtt" and refs:
            parts = arg.split(".", 1) if isinstance(arg, str) else [str(a) for a in arg]
            if len(parts) == 2 and parts[1] in refs.get(parts[0], {}):
                return refs[parts[0]][parts[1]]
        if key == "Fn::Sub" and isinstance(arg, str):
            return stack.string(arg.replace("${AWS::", "#{AWS::"))
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            sep, parts = arg
            return str(sep).join(local_value(p, stack, refs) for p in parts)
    raise Unresolvable(repr(value))


def task_environment(
    raw: Mapping[str, Any],
    stack: StackContext,
    cirrus: Mapping[str, str],
    *,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables a task sees: its inherited env made local, then the CIRRUS_* locations.

    `raw` is already merged by the project model (provider < component < lambda, or
    provider < task < AWS_* < job definition). Values that cannot mean anything here are
    dropped; every CIRRUS_* location is replaced by (or added as) the local one. A `cirrus`
    mapping with a `refs` attribute (storage.locations.CirrusEnvironment) resolves `!Ref`s.
    """
    env: dict[str, str] = {}
    refs = getattr(cirrus, "refs", None)
    for key, value in raw.items():
        try:
            env[str(key)] = local_value(value, stack, refs)
        except Unresolvable:
            continue
    env.update(cirrus)
    if extra:
        env.update(extra)
    return env


THREAD_VARS = ("GDAL_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""The thread pools of the libraries raster tasks use (GDAL, OpenMP, BLAS)."""
LAMBDA_MB_PER_VCPU = 1769
"""Lambda gives a function one vCPU per 1,769 MB of memorySize."""


def thread_limits(cpus: float) -> dict[str, str]:
    """THREAD_VARS sized to a task's CPU share, as Dask sizes them for its workers.

    Here tasks run side by side on shared cores, where on AWS each has CPUs of its own: a
    library that starts one thread per core in every worker (GDAL with ALL_CPUS) makes N
    workers run N x cores threads, and two COG conversions side by side ran 30% slower than
    with a thread each (benchmarks/cog.py's notes in docs/runtime.md). A value in the task's
    environment or the user's shell wins."""
    share = str(max(1, min(int(cpus), os.cpu_count() or 1)))
    return {var: os.environ.get(var, share) for var in THREAD_VARS}


def process_environment(task_env: Mapping[str, str], cpus: float = 1) -> dict[str, str]:
    """The whole environment of a task process: passthrough basics, thread pools sized to
    its `cpus`, then the task's own."""
    env = {k: os.environ[k] for k in PASSTHROUGH if k in os.environ}
    env.update(thread_limits(cpus))
    env.update(task_env)
    return env
