"""Every request's session and user, read from the database each time, in two indexed primary-key queries.

Why read them on every request, and not remember them: a log-out, a password change, a user deactivated or
deleted must end that user's sessions on the very next request in every gunicorn worker and every replica.
Anything a process remembers cannot see another process's log-out unless a shared store tells it, and the
store the console already shares is the database. The alternatives measured (docs/benchmarks.md, "The
session and the user of a poll"):

- ``signed_cookies`` sessions read nothing, but a log-out cannot end a copied cookie (Django's sessions docs,
  "Using cookie-based sessions": replay attacks), and the user would still have to be read: refused.
- ``cached_db`` sessions with a shared cache (a file or database cache) still read the user from the
  database; with a database cache it is as many queries as now, with a file cache a file per poll. A
  version counter (one row, bumped on every log-out, password, user, group and grant change) read instead
  of session+user+grants would save about 0.05 ms more a poll, but every way of changing those rows
  (``QuerySet.update()``, ``manage.py``, a database console) would have to bump it, or a change would go
  unseen: triggers per table per database engine. Not worth 0.05 ms of a 1.5 ms poll.
- What the poll spent was Django's ORM building and compiling the two queries (0.5 ms of CPU together,
  bench/poll_profile.py), not the database: SQLite answers each in about 0.02 ms. So the same two
  queries are written once here as SQL, on Django's own tables and connection; everything else is
  Django's (decoding and checking the session's signature, ``auth.get_user``'s session auth hash check,
  ``is_active`` through ``ModelBackend.user_can_authenticate``).

Settings: ``SESSION_ENGINE = "console.sessions"`` (:class:`SessionStore`) and :class:`SessionUserBackend`
in ``AUTHENTICATION_BACKENDS`` in place of Django's ModelBackend (sessions made under the old backend's
path end once, at the change: ``auth.get_user`` ignores a backend no longer listed).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends import db
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone


class SessionStore(db.SessionStore):
    """Django's database session (``django.contrib.sessions.backends.db``), loaded by one SQL query
    instead of the ORM's ``Session.objects.get(session_key=..., expire_date__gt=now)``: the same row,
    the same rule (an expired or missing row is an empty session and forgets the key, as Django's
    ``_get_session_from_db`` does). Writing (save, delete, cycle_key, flush) is Django's, unchanged."""

    def load(self) -> dict[str, Any]:
        """The session's data (a dict), or ``{}`` when the key is missing, unknown or expired."""
        if self.session_key is None:
            return {}
        model = self.model
        connection = connections[router.db_for_read(model)]
        table = connection.ops.quote_name(model._meta.db_table)
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",
                [self.session_key, now],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return {}
        data: dict[str, Any] = self.decode(row[0])
        return data


Converter = tuple[Callable[[Any, Any, BaseDatabaseWrapper], Any], Any]
"""One of a column's converters, and the expression it is given (as ``SQLCompiler.apply_converters``)."""


@functools.cache
def _user_columns(alias: str, vendor: str) -> tuple[str, list[str], list[list[Converter]]]:
    """For the user model on database ``alias``: the SELECT of its row by primary key, its fields'
    attribute names in that order, and each column's converters (the ORM's: SQLite's text to datetime,
    0/1 to bool), as ``SQLCompiler.get_converters`` would find them. ``vendor`` keys the cache only."""
    model = get_user_model()
    connection = connections[alias]
    fields = list(model._meta.concrete_fields)
    columns = [str(f.column) for f in fields]  # a concrete field always has its column
    quote = connection.ops.quote_name
    table = model._meta.db_table
    key = next(str(f.column) for f in fields if f.primary_key)
    sql = f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table)} WHERE {quote(key)} = %s"
    converters = []
    for field in fields:
        column = field.get_col(table)
        found = [*connection.ops.get_db_converters(column), *field.get_db_converters(connection)]
        converters.append([(convert, column) for convert in found])
    return sql, [f.attname for f in fields], converters


class SessionUserBackend(ModelBackend):
    """Django's ModelBackend (authenticate, permissions: all unchanged), whose ``get_user`` (called by
    ``auth.get_user`` on every request with a session) reads the user's row with one SQL query instead of
    ``User._default_manager.get(pk=...)``. Returns None, as ModelBackend does, when there is no such user
    or it may not authenticate (``is_active`` false); ``auth.get_user`` then checks the session's auth
    hash against the password read here, so a password change ends other sessions (Django's
    "Session invalidation on password change")."""

    def get_user(self, user_id: Any) -> Any:
        """The user with primary key ``user_id`` (the session's, already converted by ``auth.get_user``),
        or None (typed Any, as Django's stubs type ModelBackend's by the default User model)."""
        model = get_user_model()
        alias = router.db_for_read(model)
        connection = connections[alias]
        sql, names, converters = _user_columns(alias, connection.vendor)
        with connection.cursor() as cursor:
            cursor.execute(sql, [user_id])
            row = cursor.fetchone()
        if row is None:
            return None
        values = []
        for value, chain in zip(row, converters, strict=True):
            for convert, column in chain:
                value = convert(value, column, connection)
            values.append(value)
        user = model.from_db(alias, names, values)
        return user if self.user_can_authenticate(user) else None
