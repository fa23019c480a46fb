"""Stand-in for mlflow/store/tracking/sqlalchemy_store.py: SqlAlchemyStore opens its engine
(one per store class and URI, cached), creates the schema when tables are missing, and
refuses a schema that is not at the installed version's head (_verify_schema). For `mlflow
gc` it has what gc calls, with the same queries on the stand-in's tables: _get_deleted_runs
(lifecycle_stage 'deleted' and deleted_time <= now - older_than), the deleted experiments
(search_experiments(view_type=DELETED_ONLY, filter "last_update_time < T")), the deleted
runs of those experiments (search_runs(run_view_type=DELETED_ONLY)), get_run, and
_hard_delete_run / _hard_delete_experiment (the row goes)."""
import os
import time

from _fake import record
from mlflow.exceptions import MlflowException
from mlflow.store.db import utils


def get_current_time_millis():
    # mlflow/utils/time.py
    return int(time.time() * 1000)


class SqlAlchemyStore:
    _engine_map = {}

    def __init__(self, db_uri, default_artifact_root):
        if db_uri not in SqlAlchemyStore._engine_map:
            SqlAlchemyStore._engine_map[db_uri] = utils.create_sqlalchemy_engine_with_retry(db_uri)
        self.engine = SqlAlchemyStore._engine_map[db_uri]
        if not utils._all_tables_exist(self.engine):
            record("mlflow create schema", uri_from_environment=db_uri == os.environ.get("MLFLOW_BACKEND_STORE_URI"),
                   artifact_root=default_artifact_root)
            utils._initialize_tables(self.engine)
        utils._verify_schema(self.engine)

    def _rows(self, sql, **params):
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).fetchall()

    def _get_deleted_runs(self, older_than=0):
        current_time = get_current_time_millis()
        rows = self._rows("SELECT run_uuid FROM runs WHERE lifecycle_stage = 'deleted' AND deleted_time <= :t",
                          t=current_time - older_than)
        return [r[0] for r in rows]

    def deleted_experiment_ids(self, last_update_before=None):
        """search_experiments(view_type=DELETED_ONLY, filter_string="last_update_time < T"), all pages."""
        if last_update_before is None:
            rows = self._rows("SELECT experiment_id FROM experiments WHERE lifecycle_stage = 'deleted'")
        else:
            rows = self._rows("SELECT experiment_id FROM experiments WHERE lifecycle_stage = 'deleted' AND last_update_time < :t",
                              t=last_update_before)
        return [str(r[0]) for r in rows]

    def deleted_run_ids_of(self, experiment_ids):
        """search_runs(experiment_ids, run_view_type=DELETED_ONLY), all pages."""
        rows = self._rows("SELECT run_uuid FROM runs WHERE lifecycle_stage = 'deleted' AND experiment_id = ANY(:ids)",
                          ids=[int(i) for i in experiment_ids])
        return [r[0] for r in rows]

    def get_run(self, run_id):
        rows = self._rows("SELECT run_uuid, lifecycle_stage, artifact_uri FROM runs WHERE run_uuid = :r", r=run_id)
        if not rows:
            raise MlflowException(f"Run with id={run_id} not found")
        return {"run_id": rows[0][0], "lifecycle_stage": rows[0][1], "artifact_uri": rows[0][2]}

    def _hard_delete_run(self, run_id):
        from sqlalchemy import text

        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM runs WHERE run_uuid = :r"), {"r": run_id})

    def _hard_delete_experiment(self, experiment_id):
        from sqlalchemy import text

        with self.engine.begin() as conn:
            found = conn.execute(text("DELETE FROM experiments WHERE experiment_id = :e AND lifecycle_stage = 'deleted'"),
                                 {"e": int(experiment_id)}).rowcount
        if not found:
            raise MlflowException(f"No Experiment with id={experiment_id} exists")
