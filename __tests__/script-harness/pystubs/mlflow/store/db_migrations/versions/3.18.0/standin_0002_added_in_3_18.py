"""A tracking schema step that MLflow 3.18.0 ships on top of 3.17 (stand-in, not MLflow's).

Revision ID: standin_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "standin_0002"
down_revision = "standin_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("experiments", sa.Column("standin_added_in_3_18", sa.String(64)))


def downgrade():
    op.drop_column("experiments", "standin_added_in_3_18")
