"""The stand-in's initial tracking schema (not MLflow's real schema): experiments and runs,
with the columns `mlflow gc` reads, named and typed as MLflow's ORM has them
(mlflow/store/tracking/dbmodels/models.py: SqlExperiment.lifecycle_stage, creation_time and
last_update_time in milliseconds; SqlRun.run_uuid, experiment_id, lifecycle_stage,
deleted_time, artifact_uri).

Revision ID: standin_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "standin_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(256), nullable=False, unique=True),
        sa.Column("lifecycle_stage", sa.String(32)),
        sa.Column("creation_time", sa.BigInteger),
        sa.Column("last_update_time", sa.BigInteger),
    )
    op.create_table(
        "runs",
        sa.Column("run_uuid", sa.String(32), primary_key=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id")),
        sa.Column("lifecycle_stage", sa.String(20)),
        sa.Column("deleted_time", sa.BigInteger, nullable=True),
        sa.Column("artifact_uri", sa.String(200)),
    )


def downgrade():
    op.drop_table("runs")
    op.drop_table("experiments")
