"""The stand-in's initial tracking schema (not MLflow's real schema): experiments.

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
    )


def downgrade():
    op.drop_table("experiments")
