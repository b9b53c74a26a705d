import uuid
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import (
    CheckConstraint,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY, INET
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, one_of, utc_now_column

# The one definition of each list: the API's enums (schemas, query filters) and the CHECK constraints
# below derive from these Literals. A new value needs a migration that changes the constraint too.
CameraKind = Literal["fixed", "ptz", "dome", "anpr", "speed", "other"]
# A gateway's lifecycle is a camera's (gateway.py).
Lifecycle = Literal["planned", "active", "maintenance", "decommissioned"]
CAMERA_KINDS: tuple[str, ...] = get_args(CameraKind)
LIFECYCLES: tuple[str, ...] = get_args(Lifecycle)
# The cameras a gateway reports for and health watches: planned ones are not installed yet, decommissioned
# ones are gone.
SERVED_LIFECYCLES: tuple[str, ...] = ("active", "maintenance")

# Vietnamese (and common Latin-1) letters folded to ASCII, ASCII punctuation to spaces. translate() is
# immutable, so unlike unaccent() it can feed a generated column on any Postgres without a wrapper
# function; the registry folds search terms with the same table (search_fold) so both sides agree.
# The text is framed by spaces, so "% q1 %" finds the whole word q1 anywhere, first and last included.
FOLD_FROM = (
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ"
    "äåæçëïñöøüÿÄÅÆÇËÏÑÖØÜ"
    '!"#$%&()*+,-./:;<=>?@[]^_`{|}~'
)
FOLD_TO = (
    "aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd"
    "aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd"
    "aaaceinoouyaaaceinoou"
    "                              "
)
SEARCH_TEXT_SQL = (
    "' ' || lower(translate(coalesce(code, '') || ' ' || coalesce(name, '') || ' ' || coalesce(address, '')"
    f" || ' ' || coalesce(road, ''), '{FOLD_FROM}', '{FOLD_TO}')) || ' '"
)
_FOLD_TABLE = str.maketrans(FOLD_FROM, FOLD_TO)


def search_fold(text: str) -> str:
    """Text folded the way camera.search_text is: Vietnamese accents and đ removed, lower case."""
    return text.translate(_FOLD_TABLE).lower()


class Camera(Base):
    """A registered camera. stream_url is stored without credentials; only their hash is kept."""

    __tablename__ = "camera"
    __table_args__ = (
        CheckConstraint(one_of("kind", CAMERA_KINDS), name="kind"),
        CheckConstraint(one_of("lifecycle", LIFECYCLES), name="lifecycle"),
        CheckConstraint("heartbeat_interval_s BETWEEN 5 AND 3600", name="heartbeat_interval_s"),
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude"),
        CheckConstraint("version >= 1", name="version"),
        # Each equality filter comes with the list's keyset order (code), so a filtered page is one index
        # range read in order, whatever the correlation between codes and the filtered column.
        Index("ix_camera_district_code", "district", "code"),
        Index("ix_camera_ward_code", "ward", "code"),
        Index("ix_camera_gateway_id_code", "gateway_id", "code"),
        Index("ix_camera_lifecycle_code", "lifecycle", "code"),
        Index("ix_camera_vendor_code", "vendor", "code"),
        Index("ix_camera_model_code", "model", "code"),
        Index("ix_camera_owner_code", "owner", "code"),
        Index("ix_camera_kind_code", "kind", "code"),
        Index("ix_camera_tags", "tags", postgresql_using="gin"),
        # Bounding boxes and near+radius: a btree has real statistics, so the planner still walks the
        # code index for a box covering the whole city (a GiST point box is always estimated tiny).
        Index("ix_camera_latitude_longitude", "latitude", "longitude"),
        # The health evaluator's incremental pass: the cameras the registry changed, and the fleet's
        # distinct heartbeat intervals (each one's threshold crossings are looked up by range).
        Index("ix_camera_updated_at", "updated_at"),
        Index("ix_camera_heartbeat_interval_s", "heartbeat_interval_s"),
        Index(
            "ix_camera_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            # No pending list: every search would read it in full until a vacuum (migration 0005).
            postgresql_with={"fastupdate": "off"},
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(Text, default=None)
    district: Mapped[str] = mapped_column(String(32), ForeignKey("area.code", ondelete="RESTRICT"))
    ward: Mapped[str | None] = mapped_column(String(32), ForeignKey("area.code", ondelete="RESTRICT"), default=None)
    road: Mapped[str | None] = mapped_column(String(200), default=None)
    direction: Mapped[str | None] = mapped_column(String(64), default=None)
    kind: Mapped[str] = mapped_column(String(16), default="fixed", server_default="fixed")
    vendor: Mapped[str | None] = mapped_column(String(100), default=None)
    model: Mapped[str | None] = mapped_column(String(100), default=None)
    firmware: Mapped[str | None] = mapped_column(String(100), default=None)
    ip: Mapped[str | None] = mapped_column(INET, default=None)
    # The URL with any user:password removed; the credentials themselves are never stored in clear.
    stream_url: Mapped[str | None] = mapped_column(Text, default=None)
    stream_credentials_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    lifecycle: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    heartbeat_interval_s: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default="{}")
    owner: Mapped[str | None] = mapped_column(String(200), default=None)
    gateway_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("gateway.id", ondelete="SET NULL"), default=None
    )
    installed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = utc_now_column()
    updated_at: Mapped[datetime] = utc_now_column()
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Accent-folded code, name, address and road for `q`, kept by Postgres itself (so SQL loads get it too).
    # Deferred: only the WHERE clause needs it, so loading a camera never carries it.
    search_text: Mapped[str] = mapped_column(
        Text, Computed(SEARCH_TEXT_SQL, persisted=True), nullable=False, deferred=True
    )
