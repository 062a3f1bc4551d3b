"""A Cirrus project: `cirrus.yml` and its components, loaded as data.

Public API (see docs/project.md):

    root = find_project(explicit=os.environ.get("CIRRUS_DIR"))
    project = Project.load(root)            # built-ins first, then the project
    project.tasks["copy-assets"].lambda_environment
    project.job_definitions["CopyAssetsAsBatchJob"].environment
    for problem in project.validate(): print(problem)
"""

from cirrostratus.project.cloudformation import (
    ComputeEnvironment,
    JobDefinition,
    JobQueue,
    Resource,
)
from cirrostratus.project.components import Component, Task, Workflow
from cirrostratus.project.discovery import CONFIG_NAME, find_project
from cirrostratus.project.problems import Problem, ProjectError, ProjectNotFound
from cirrostratus.project.project import BUILTINS_ROOT, Project
from cirrostratus.project.scaffold import create_component, init_project
from cirrostratus.project.yamlcfn import YamlError, load_file, loads

__all__ = [
    "BUILTINS_ROOT",
    "CONFIG_NAME",
    "Component",
    "ComputeEnvironment",
    "JobDefinition",
    "JobQueue",
    "Problem",
    "Project",
    "ProjectError",
    "ProjectNotFound",
    "Resource",
    "Task",
    "Workflow",
    "YamlError",
    "create_component",
    "find_project",
    "init_project",
    "load_file",
    "loads",
]
