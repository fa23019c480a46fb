"""The SQLAlchemy 2.1 behaviours the startup script depends on, on top of Debian's real
SQLAlchemy 1.4 (python3-sqlalchemy), which the fake uv links into a fake venv as
"sqlalchemy": for MLflow's `sqlalchemy<3` (mlflow pyproject.toml), uv resolves 2.1 at the
dependency cutoff (2.1.0 was released 2026-09-24), which Debian 12 does not package.
Imported at interpreter start by sqlalchemy21_compat.pth (site.py runs the `import` lines
of .pth files in site-packages).

1. A URL without a driver, postgresql://, means psycopg (psycopg 3), no longer psycopg2:
   SQLAlchemy doc/build/changelog/migration_21.rst, "Default PostgreSQL driver changed to
   psycopg (psycopg 3)" (ticket 13010). Here such a URL (and postgresql+psycopg://, which
   1.4 does not know) loads a dialect that imports `psycopg`, as 2.1's does; psycopg is not
   in the venv (the script installs psycopg2-binary), so create_engine() fails with
   "ModuleNotFoundError: No module named 'psycopg'", as on a VM.
2. URL.render_as_string(hide_password=False) percent-encodes the user name and password
   with urllib.parse.quote, keeping " " and "+" (SQLAlchemy 2.0.25, issue #10662, commit
   4438883c), so the string parses back to the same password. 1.4 escapes only ":", "@"
   and "/", so a password holding "%41" comes back as "A" (issue #10738). MLflow's auth
   migrations build their engine from that string (mlflow/server/auth/db/utils.py, migrate).
3. str(url) hides the password as "***" since 2.0 (sqlalchemy discussion #9225;
   miguelgrinberg/Flask-Migrate PR #506, "With SQLAlchemy v2, engine url has a obfuscate
   password"): nothing may connect with str(engine.url).
"""
import urllib.parse

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.psycopg2 import PGDialect_psycopg2
from sqlalchemy.engine import url as _url


class PGDialect_psycopg(PGDialect_psycopg2):
    """What 2.1 loads for postgresql:// and postgresql+psycopg://: the psycopg (3) dialect."""

    driver = "psycopg"

    @classmethod
    def dbapi(cls):
        import psycopg  # noqa: F401  (ModuleNotFoundError when psycopg is not installed)

        raise NotImplementedError("harness: SQLAlchemy 1.4 has no psycopg 3 dialect; name the driver: postgresql+psycopg2://")


registry.register("postgresql", __name__, "PGDialect_psycopg")
registry.register("postgresql.psycopg", __name__, "PGDialect_psycopg")

_render_14 = _url.URL.render_as_string


def _quote(text):
    return urllib.parse.quote(text, safe=" +")


def render_as_string(self, hide_password=True):
    s = self.drivername + "://"
    if self.username is not None:
        s += _quote(self.username)
        if self.password is not None:
            s += ":" + ("***" if hide_password else _quote(str(self.password)))
        s += "@"
    rest = _render_14(self._replace(username=None, password=None), hide_password=hide_password)
    return s + rest[len(self.drivername) + 3:]


_url.URL.render_as_string = render_as_string
_url.URL.__str__ = lambda self: self.render_as_string(hide_password=True)
_url.URL.__repr__ = lambda self: self.render_as_string(hide_password=True)
