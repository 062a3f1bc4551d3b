"""Cirrostratus's built-in components: a Cirrus project of its own, without cirrus.yml.

The folders `tasks/`, `workflows/`, `functions/`, `feeders/` and `cloudformation/` follow the
Cirrus project layout. `cirrostratus.project.Project.load` reads them before the user's
project (as Cirrus reads its `cirrus.builtins` package); a project component of the same
name overrides a built-in one. Nothing here is imported at load time: handlers are run by
the runtime like any project's.
"""
