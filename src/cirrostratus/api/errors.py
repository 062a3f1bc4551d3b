"""The API's three refusals, raised below the HTTP layer and turned into statuses by the app.

They live apart from the backend so that what only refuses (asset resolution, the deployment
backend, `cirro api`'s setup) need not import the backend, and the app maps each one to a
single status: NotFound → 404, BadRequest → 400, NotServed → 501.
"""

from __future__ import annotations


class NotFound(Exception):
    """No record (or stored object) for what was asked."""


class BadRequest(Exception):
    """The request cannot be served as given; the message says what to change."""


class NotServed(Exception):
    """This API cannot serve that here (501); the message says what can."""
