"""Deterministic generation of a plausible camera fleet: places, codes, kinds, vendors, models, NVR gateways."""

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

from citycam.simulator.districts import District, load_districts
from citycam.simulator.wards import load_wards
from shared.models import CameraKind

T = TypeVar("T")

# Which areas the fleet is placed by: the 22 districts, or the 168 units of 2025 (registered by ward alone).
AreaSet = Literal["legacy", "2025"]

# Real arterial roads, so names and the accent-insensitive search have something true to find.
ROADS: dict[str, tuple[str, ...]] = {
    "Q1": ("Nguyễn Huệ", "Lê Lợi", "Hàm Nghi", "Tôn Đức Thắng", "Nam Kỳ Khởi Nghĩa", "Điện Biên Phủ"),
    "Q3": ("Cách Mạng Tháng Tám", "Võ Văn Tần", "Nguyễn Thị Minh Khai", "Lý Chính Thắng"),
    "Q4": ("Khánh Hội", "Hoàng Diệu", "Nguyễn Tất Thành", "Tôn Thất Thuyết"),
    "Q5": ("Trần Hưng Đạo", "Nguyễn Trãi", "An Dương Vương", "Hồng Bàng"),
    "Q6": ("Hậu Giang", "Kinh Dương Vương", "Võ Văn Kiệt", "Bình Phú"),
    "Q7": ("Nguyễn Văn Linh", "Nguyễn Thị Thập", "Huỳnh Tấn Phát", "Nguyễn Hữu Thọ"),
    "Q8": ("Phạm Thế Hiển", "Tạ Quang Bửu", "Dương Bá Trạc", "Quốc lộ 50"),
    "Q10": ("Ba Tháng Hai", "Lý Thường Kiệt", "Sư Vạn Hạnh", "Ngô Gia Tự"),
    "Q11": ("Lạc Long Quân", "Lãnh Binh Thăng", "Minh Phụng", "Âu Cơ"),
    "Q12": ("Quốc lộ 1A", "Trường Chinh", "Hà Huy Giáp", "Nguyễn Ảnh Thủ"),
    "BTH": ("Xô Viết Nghệ Tĩnh", "Điện Biên Phủ", "Xa lộ Hà Nội", "Phạm Văn Đồng", "Nơ Trang Long", "Cầu Sài Gòn"),
    "GVA": ("Quang Trung", "Phan Văn Trị", "Nguyễn Oanh", "Lê Đức Thọ"),
    "PNH": ("Phan Đăng Lưu", "Hoàng Văn Thụ", "Nguyễn Văn Trỗi", "Phan Xích Long"),
    "TBI": ("Cộng Hòa", "Trường Chinh", "Hoàng Văn Thụ", "Lý Thường Kiệt"),
    "TPH": ("Lũy Bán Bích", "Âu Cơ", "Tân Kỳ Tân Quý", "Tân Sơn Nhì"),
    "BTA": ("Kinh Dương Vương", "Tên Lửa", "Quốc lộ 1A", "Tỉnh lộ 10"),
    "TDU": ("Xa lộ Hà Nội", "Võ Nguyên Giáp", "Mai Chí Thọ", "Đỗ Xuân Hợp", "Kha Vạn Cân", "Phạm Văn Đồng"),
    "BCH": ("Quốc lộ 1A", "Nguyễn Văn Linh", "Quốc lộ 50", "Vĩnh Lộc"),
    "CCH": ("Quốc lộ 22", "Tỉnh lộ 8", "Tỉnh lộ 15", "Nguyễn Thị Rành"),
    "HMO": ("Quốc lộ 22", "Tô Ký", "Lê Văn Khương", "Đặng Thúc Vịnh"),
    "NBE": ("Huỳnh Tấn Phát", "Nguyễn Hữu Thọ", "Lê Văn Lương", "Nguyễn Bình"),
    "CGI": ("Rừng Sác", "Duyên Hải", "Tắc Xuất", "Lương Văn Nho"),
}
SPOTS = ("Ngã tư", "Ngã ba", "Cầu", "Vòng xoay", "Nút giao", "Trạm", "Trường học", "Chợ")
DIRECTIONS = ("hướng trung tâm", "hướng ngoại thành", "hai chiều", "N", "S", "E", "W")
# (kind, weight) and, per kind, (vendor, model, firmware) choices. Typed by the registry's CameraKind, so
# a kind the schema does not know is a type error here, and a test checks every kind has a weight.
KINDS: tuple[tuple[CameraKind, int], ...] = (
    ("fixed", 45),
    ("ptz", 20),
    ("dome", 15),
    ("anpr", 10),
    ("speed", 7),
    ("other", 3),
)
MODELS: dict[CameraKind, tuple[tuple[str, str, str], ...]] = {
    "fixed": (
        ("Hikvision", "DS-2CD2143G2-I", "V5.7.3"),
        ("Dahua", "IPC-HFW5442E-ZE", "V2.840.0000000.8.R"),
        ("Axis", "P1455-LE", "10.12.199"),
        ("Hanwha", "XNO-6080R", "2.10.02"),
    ),
    "ptz": (
        ("Hikvision", "DS-2DE4425IW-DE", "V5.6.15"),
        ("Dahua", "SD49425XB-HNR", "V2.800.0000000.3.R"),
        ("Axis", "Q6135-LE", "10.12.199"),
        ("Bosch", "AUTODOME IP starlight 7000i", "7.80.0128"),
    ),
    "dome": (
        ("Hikvision", "DS-2CD2347G2-LU", "V5.7.3"),
        ("Hanwha", "PNM-9085RQZ", "2.20.04"),
        ("Vivotek", "FD9389-EHV", "0200a"),
    ),
    "anpr": (
        ("Hikvision", "iDS-TCM403-BI", "V4.3.0"),
        ("Dahua", "ITC237-PW6M", "V2.622.0000000.1"),
    ),
    "speed": (
        ("Dahua", "ITSE0804-GN5B-D", "V1.000.0000000.9"),
        ("Hikvision", "DS-TCG227-A", "V4.1.10"),
    ),
    "other": (
        ("Bosch", "DINION IP 5000 HD", "7.10.0095"),
        ("Vivotek", "IB9389-EH", "0200b"),
    ),
}
NVR_MODELS = (
    ("Hikvision", "DS-7732NI-K4", "V4.62.210"),
    ("Dahua", "NVR5232-EI", "V4.003.0000000.5"),
    ("Milestone", "Husky IVO 350R", "2023 R3"),
)
OWNERS = ("Sở Giao thông Vận tải TP.HCM", "Công an TP.HCM", "Trung tâm Quản lý Giao thông đô thị", "Ban ITS TP.HCM")
TAGS = ("traffic", "intersection", "bridge", "school-zone", "flood-watch", "tunnel", "market", "bus-lane")
INTERVALS: tuple[tuple[int, int], ...] = ((10, 15), (15, 10), (30, 60), (60, 15))
NVR_CHANNELS = (8, 16, 16, 32)
# Relative camera density: the dense inner districts carry most cameras per square kilometre.
DENSITY = {"urban_district": 4.0, "municipal_city": 3.0, "rural_district": 0.8, "former_province": 0.5}


@dataclass
class SimCamera:
    """A simulated camera as it will be registered."""

    code: str
    name: str
    latitude: float
    longitude: float
    address: str
    district: str
    road: str
    direction: str
    kind: CameraKind
    vendor: str
    model: str
    firmware: str
    ip: str
    stream_url: str
    heartbeat_interval_s: int
    tags: list[str]
    owner: str
    installed_at: datetime
    gateway: str | None = None  # the code of its NVR, if any
    ward: str | None = None  # a 2025 unit: the body names it alone, the registry derives the district

    def api_body(self, gateway_ids: dict[str, str] | None = None) -> dict[str, Any]:
        """The JSON body for POST /v1/cameras and a JSON-lines import row."""
        body: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "address": self.address,
            **({"district": self.district} if self.ward is None else {"ward": self.ward}),
            "road": self.road,
            "direction": self.direction,
            "kind": self.kind,
            "vendor": self.vendor,
            "model": self.model,
            "firmware": self.firmware,
            "ip": self.ip,
            "stream_url": self.stream_url,
            "lifecycle": "active",
            "heartbeat_interval_s": self.heartbeat_interval_s,
            "tags": self.tags,
            "owner": self.owner,
            "installed_at": self.installed_at.isoformat(),
        }
        if self.gateway is not None and gateway_ids is not None and self.gateway in gateway_ids:
            body["gateway_id"] = gateway_ids[self.gateway]
        return body


@dataclass
class SimGateway:
    """A simulated NVR reporting for the cameras behind it."""

    code: str
    name: str
    district: str
    latitude: float
    longitude: float
    vendor: str
    model: str
    firmware: str
    ip: str
    heartbeat_interval_s: int
    cameras: list[int] = field(default_factory=list)  # indexes into Fleet.cameras
    ward: str | None = None

    def api_body(self) -> dict[str, Any]:
        """The JSON body for POST /v1/gateways."""
        return {
            "code": self.code,
            "name": self.name,
            "district": self.district,
            **({"ward": self.ward} if self.ward is not None else {}),
            "latitude": self.latitude,
            "longitude": self.longitude,
            "vendor": self.vendor,
            "model": self.model,
            "firmware": self.firmware,
            "ip": self.ip,
            "heartbeat_interval_s": self.heartbeat_interval_s,
        }


@dataclass
class Fleet:
    cameras: list[SimCamera]
    gateways: list[SimGateway]
    _gateway_index: dict[int, int] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        """Recompute which camera is behind which gateway (after gateways were dropped, say)."""
        self._gateway_index = {c: g for g, gw in enumerate(self.gateways) for c in gw.cameras}

    def gateway_of(self, camera_index: int) -> int | None:
        """The index of the camera's gateway, or None for a directly reporting camera."""
        return self._gateway_index.get(camera_index)

    def direct_cameras(self) -> list[int]:
        """Indexes of the cameras that report for themselves."""
        return [i for i in range(len(self.cameras)) if i not in self._gateway_index]


def _weighted(rng: random.Random, choices: Sequence[tuple[T, int]]) -> T:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def split_counts(total: int, districts: Sequence[District]) -> dict[str, int]:
    """How many cameras each district gets: proportional to sqrt(area) x density, at least one each."""
    weights = {d.code: (d.area_km2**0.5) * DENSITY.get(d.kind, 1.0) for d in districts}
    if total < len(districts):
        ranked = sorted(weights, key=lambda c: -weights[c])[:total]
        return {d.code: (1 if d.code in ranked else 0) for d in districts}
    spare = total - len(districts)
    scale = spare / sum(weights.values())
    counts = {code: 1 + int(w * scale) for code, w in weights.items()}
    # Hand out what rounding down left over, largest remainders first.
    left = total - sum(counts.values())
    by_remainder = sorted(weights, key=lambda c: -((weights[c] * scale) % 1))
    for code in by_remainder[:left]:
        counts[code] += 1
    return counts


@dataclass(frozen=True)
class Place:
    """Where a group of cameras goes: a district, or a 2025 unit (with its legacy district)."""

    area: District
    district: District
    ward: str | None = None


def places(area_set: AreaSet) -> tuple[Place, ...]:
    """The places a fleet is spread over, in reference-file order."""
    if area_set == "legacy":
        return tuple(Place(area=d, district=d) for d in load_districts())
    return tuple(Place(area=w.place, district=w.district, ward=w.place.code) for w in load_wards())


def _camera(rng: random.Random, place: Place, number: int, district_index: int) -> SimCamera:
    district = place.district
    lat, lon = place.area.random_point(rng)
    road = rng.choice(ROADS.get(district.code, ("Quốc lộ 1A",)))
    spot = rng.choice(SPOTS)
    kind = _weighted(rng, KINDS)
    vendor, model, firmware = rng.choice(MODELS[kind])
    ip = f"10.{district_index + 10}.{number // 250}.{number % 250 + 2}"
    direction = rng.choice(DIRECTIONS)
    tags = sorted(set(rng.sample(TAGS, rng.choice((1, 1, 2, 3)))))
    installed = datetime(2016, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(0, 3500))
    return SimCamera(
        code=f"{place.area.code}-{number:04d}",
        name=f"{spot} {road} - {direction}",
        latitude=lat,
        longitude=lon,
        address=f"{rng.randrange(1, 900)} {road}, {place.area.name}, TP. Hồ Chí Minh",
        district=district.code,
        ward=place.ward,
        road=road,
        direction=direction,
        kind=kind,
        vendor=vendor,
        model=model,
        firmware=firmware,
        ip=ip,
        stream_url=f"rtsp://viewer:{rng.getrandbits(48):012x}@{ip}:554/Streaming/Channels/101",
        heartbeat_interval_s=_weighted(rng, INTERVALS),
        tags=tags,
        owner=rng.choice(OWNERS),
        installed_at=installed,
    )


def _gateways_for(
    rng: random.Random, place: Place, members: list[int], cameras: list[SimCamera], district_index: int
) -> Iterator[SimGateway]:
    area = place.area
    # Neighbours share an NVR: order the chosen cameras along a coarse grid before cutting them into groups.
    members = sorted(members, key=lambda i: (round(cameras[i].latitude, 2), cameras[i].longitude))
    start, number = 0, 1
    while start < len(members):
        size = rng.choice(NVR_CHANNELS)
        group = members[start : start + size]
        start += size
        vendor, model, firmware = rng.choice(NVR_MODELS)
        lat = round(sum(cameras[i].latitude for i in group) / len(group), 6)
        lon = round(sum(cameras[i].longitude for i in group) / len(group), 6)
        code = f"{area.code}-NVR-{number:02d}"
        interval = 30
        for i in group:
            cameras[i].gateway = code
            # The NVR polls its channels and reports for them on its own schedule.
            cameras[i].heartbeat_interval_s = interval
        yield SimGateway(
            code=code,
            name=f"NVR {area.name} #{number}",
            district=place.district.code,
            ward=place.ward,
            latitude=lat,
            longitude=lon,
            vendor=vendor,
            model=model,
            firmware=firmware,
            ip=f"10.{district_index + 10}.200.{number % 250 + 2}",
            heartbeat_interval_s=interval,
            cameras=list(group),
        )
        number += 1


def generate_fleet(
    count: int = 10_000, *, seed: int = 42, gateway_share: float = 0.3, area_set: AreaSet = "legacy"
) -> Fleet:
    """A deterministic fleet of `count` cameras over the 22 districts or the 168 units of 2025, about
    gateway_share behind NVRs (an NVR serves one district, or one ward)."""
    rng = random.Random(seed)
    spread = places(area_set)
    counts = split_counts(count, [p.area for p in spread])
    cameras: list[SimCamera] = []
    gateways: list[SimGateway] = []
    for index, place in enumerate(spread):
        first = len(cameras)
        cameras.extend(_camera(rng, place, n, index) for n in range(1, counts[place.area.code] + 1))
        local = list(range(first, len(cameras)))
        behind = rng.sample(local, round(len(local) * gateway_share))
        gateways.extend(_gateways_for(rng, place, behind, cameras, index))
    return Fleet(cameras=cameras, gateways=gateways)
