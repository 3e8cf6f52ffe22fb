"""After a transactional test: empty what the test wrote, keep the reference data.

Django's `TransactionTestCase` ends each test with `flush`: every table emptied (TRUNCATE of
~150 tables on PostgreSQL, 2–5 s on this machine under load), the `post_migrate` signal sent
again (content types, permissions), and here the reference data loaded again before the next
test (1.5–3 s). A PostgreSQL pass has ~150 such tests.

`install()` replaces that with: delete every row of the tables that were empty once the
reference data was loaded (`baseline()`), and keep the others. A kept table the test changed
(an administrator's edit, a rule's last run, a new policy version) is put back from a copy
taken at the baseline (a plain table in the test database, `CREATE TABLE … AS SELECT`). Should
the rows still not fit together, the full flush and a fresh load follow, as before. Either way
the next test starts from the same rows."""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, connections, transaction
from django.test import TransactionTestCase

_kept: dict[str, dict[str, tuple[str, str]]] = {}  # alias → table → (fingerprint, its copy)
_full_flush = TransactionTestCase._fixture_teardown


def _tables(alias: str) -> list[str]:
    return sorted(connections[alias].introspection.django_table_names(
        only_existing=True, include_views=False))


def _fingerprint(cursor, table: str) -> str | None:
    """A digest of every row of `table`; None when it is empty."""
    quoted = cursor.db.ops.quote_name(table)
    cursor.execute(f"SELECT * FROM {quoted}")
    rows = sorted(repr(row) for row in cursor.fetchall())
    if not rows:
        return None
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def baseline(alias: str = "default") -> None:
    """Note which tables hold rows now (the reference data) and what they hold."""
    kept = {}
    quote = connections[alias].ops.quote_name
    with connections[alias].cursor() as cursor:
        for n, table in enumerate(_tables(alias)):
            digest = _fingerprint(cursor, table)
            if digest is not None:
                copy = f"kept_reference_{n}"
                cursor.execute(f"DROP TABLE IF EXISTS {copy}")
                cursor.execute(f"CREATE TABLE {copy} AS SELECT * FROM {quote(table)}")
                kept[table] = digest, copy
    _kept[alias] = kept


def _reset(alias: str) -> bool:
    """Empty the tables outside the baseline and put back the kept ones the test changed;
    False if the rows then do not fit together and a full flush is needed instead."""
    kept = _kept.get(alias)
    if kept is None:
        return False
    connection = connections[alias]
    try:
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            for table in _tables(alias):
                quoted = connection.ops.quote_name(table)
                if table not in kept:
                    cursor.execute(f"DELETE FROM {quoted}")
                    continue
                digest, copy = kept[table]
                if _fingerprint(cursor, table) != digest:
                    cursor.execute(f"DELETE FROM {quoted}")
                    cursor.execute(f"INSERT INTO {quoted} SELECT * FROM {copy}")
            # Foreign keys are deferred: check them before committing, inside the atomic block.
            connection.check_constraints()
    except IntegrityError:
        return False
    return True


def install(on_full_flush) -> None:
    """Use the reset for every transactional test; `on_full_flush()` runs after a full flush
    (it loads the reference data again and calls `baseline`)."""

    def _fixture_teardown(self):
        fell_back = False
        for alias in self._databases_names(include_mirrors=False):
            if not _reset(alias):
                fell_back = True
        if fell_back:
            _full_flush(self)
            on_full_flush()

    TransactionTestCase._fixture_teardown = _fixture_teardown
