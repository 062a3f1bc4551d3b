"""Cirrostratus: run Cirrus STAC processing pipelines locally, on AWS, or over Dask."""

__version__ = "0.1.0"
