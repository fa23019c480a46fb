"""The stand-in's initial auth schema (not MLflow's real schema): users.

Revision ID: standin_auth_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "standin_auth_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(255), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade():
    op.drop_table("users")
