"""Stand-in for mlflow/server/auth/__init__.py (the basic-auth app): its imports need the
mlflow[auth] extra; create_app() reads the INI (MLFLOW_AUTH_CONFIG_PATH), requires the Flask
secret key, opens the auth store on the INI's database_uri (store.init_db: its own engine,
then migrate_if_needed) and creates the admin user when missing (create_admin_user, which
tolerates another worker creating it at the same time: the IntegrityError)."""
import configparser
import hashlib
import os

from sqlalchemy.exc import IntegrityError

from _fake import installed
from mlflow.exceptions import MlflowException

if not installed("mlflow[auth]"):
    raise ModuleNotFoundError("No module named 'flask_wtf' (the basic-auth app needs mlflow[auth])")


def read_auth_config():
    # mlflow/server/auth/config.py: configparser with its default interpolation ("%%" is "%");
    # MLFLOW_AUTH_ADMIN_USERNAME / _PASSWORD take precedence when set.
    config = configparser.ConfigParser()
    config.read(os.environ["MLFLOW_AUTH_CONFIG_PATH"])
    section = config["mlflow"]  # KeyError, as in MLflow, when the file was not readable
    return {
        "default_permission": section["default_permission"],
        "database_uri": section["database_uri"],
        "admin_username": os.environ.get("MLFLOW_AUTH_ADMIN_USERNAME", section["admin_username"]),
        "admin_password": os.environ.get("MLFLOW_AUTH_ADMIN_PASSWORD", section["admin_password"]),
    }


class SqlAlchemyStore:
    """Stand-in for mlflow/server/auth/sqlalchemy_store.py."""

    def init_db(self, db_uri):
        from mlflow.server.auth.db import utils as dbutils
        from mlflow.store.db.utils import create_sqlalchemy_engine_with_retry

        self.engine = create_sqlalchemy_engine_with_retry(db_uri)
        dbutils.migrate_if_needed(self.engine, "head")

    def has_user(self, username):
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return conn.execute(text("SELECT 1 FROM users WHERE username = :u"), {"u": username}).first() is not None

    def create_user(self, username, password, is_admin=False):
        from sqlalchemy import text

        # mlflow/utils/validation.py _validate_password
        if password is None or len(password) < 12:
            raise MlflowException("Password must be a string longer than 12 characters.")
        salt = os.urandom(16)
        pwhash = "pbkdf2:sha256:" + salt.hex() + "$" + hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000).hex()
        try:
            with self.engine.begin() as conn:
                conn.execute(text("INSERT INTO users (username, password_hash, is_admin) VALUES (:u, :p, :a)"),
                             {"u": username, "p": pwhash, "a": is_admin})
        except IntegrityError as e:  # mlflow/server/auth/sqlalchemy_store.py create_user
            raise MlflowException(f"User (username={username}) already exists.") from e

    def authenticate_user(self, username, password):
        """The basic-auth check (authenticate_request_basic_auth -> store.authenticate_user)."""
        from sqlalchemy import text

        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT password_hash FROM users WHERE username = :u"), {"u": username}).first()
        if row is None or not row[0].startswith("pbkdf2:sha256:"):
            return False
        salt, _, digest = row[0][len("pbkdf2:sha256:"):].partition("$")
        return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), 1000).hex() == digest


def create_app():
    if not os.environ.get("MLFLOW_FLASK_SERVER_SECRET_KEY"):
        raise MlflowException("A static secret key needs to be set for CSRF protection. Set the environment variable "
                              "MLFLOW_FLASK_SERVER_SECRET_KEY.")
    config = read_auth_config()
    store = SqlAlchemyStore()
    store.init_db(config["database_uri"])
    # create_admin_user: workers starting together may race to create the admin; the ones
    # that lose get an IntegrityError and go on.
    if not store.has_user(config["admin_username"]):
        try:
            store.create_user(config["admin_username"], config["admin_password"], is_admin=True)
        except MlflowException as e:
            if not isinstance(e.__cause__, IntegrityError):
                raise
    return store
