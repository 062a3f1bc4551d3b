"""Scale-out executors: where a task invocation runs when it does not run on this machine.

`dask_*` modules put every task invocation (Lambda and Batch alike) on a Dask cluster while
the engine keeps intake, state and workflows where it runs (docs/dask.md). Nothing here is
imported by the engine unless `--executor dask` asks for it, so `distributed` loads lazily.
"""
