"""Geospatial helpers behind the builtin copy-assets, convert-to-cog and add-preview tasks and
the feed-listing / feed-stac-crawl / feed-stac-api feeders (docs/geo.md).

rasterio, rio-cogeo and pystac-client (the `geo` extra) are imported inside the functions that
need them, never at import time: `cirro --help` and every non-geo command stay light.
"""
