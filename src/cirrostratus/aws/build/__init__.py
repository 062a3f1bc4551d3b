"""`cirro build`: a Cirrus project as plain CloudFormation plus one zip per lambda.

No Serverless Framework and no Node: `build_project` turns the loaded Project into
`template.json`/`template.yaml` and content-addressed zips that `cirro deploy` uploads.
The contract deploy relies on: a `DeploymentBucket` parameter (every function's
`Code.S3Bucket`), literal `Code.S3Key`s (the keys of `BuildResult.packages`) and the stack
Outputs listed in `outputs.OUTPUT_NAMES` (see docs/build.md).
"""

from cirrostratus.aws.build.build import build_project
from cirrostratus.aws.build.model import BuildError, BuildResult

__all__ = ["BuildError", "BuildResult", "build_project"]
