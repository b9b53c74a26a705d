"""gateway.kind: an NVR or gateway, or a probe agent

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

A probe agent (services/probe) is registered as a gateway with its own device token. Health needs to
tell it apart: when a probe agent goes silent its cameras are unobserved, not known to be down, and
the one incident it makes says "probe agent X silent".
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("gateway", sa.Column("kind", sa.String(16), nullable=False, server_default="gateway"))
    op.create_check_constraint(op.f("ck_gateway_kind"), "gateway", "kind IN ('gateway', 'probe')")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_gateway_kind"), "gateway", type_="check")
    op.drop_column("gateway", "kind")
