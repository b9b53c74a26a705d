"""Load N realistic HCMC cameras with one SQL statement, for benchmarks and plan checks.

    python -m tests.registry.load_cameras postgresql://postgres@127.0.0.1:5432/citycam_bench 100000

Codes are DISTRICT-NNNNNN; names, roads and addresses combine real Vietnamese street names, junction
words and landmarks, so accent-folded search sees realistic word frequencies (common words such as
"duong" or "nga tu" in most rows, rare ones in a few). The generated search columns are filled by
Postgres (they are never listed in the INSERT). Rows are appended after any existing cameras, then the
table is vacuumed and analysed (so the trigram index's pending list is merged, as in a settled system).
"""

import asyncio
import sys
import time

import asyncpg

ROADS = [
    "Điện Biên Phủ",
    "Nguyễn Thị Minh Khai",
    "Võ Văn Kiệt",
    "Cách Mạng Tháng Tám",
    "Lê Duẩn",
    "Hai Bà Trưng",
    "Nam Kỳ Khởi Nghĩa",
    "Xa lộ Hà Nội",
    "Phạm Văn Đồng",
    "Trường Chinh",
    "Cộng Hòa",
    "Hoàng Văn Thụ",
    "Nguyễn Văn Linh",
    "Âu Cơ",
    "Lạc Long Quân",
    "Lý Thường Kiệt",
    "Ba Tháng Hai",
    "Nguyễn Trãi",
    "Trần Hưng Đạo",
    "Hùng Vương",
    "Quốc lộ 1A",
    "Quốc lộ 13",
    "Nguyễn Hữu Thọ",
    "Huỳnh Tấn Phát",
    "Kinh Dương Vương",
    "Tỉnh lộ 10",
    "Lê Văn Việt",
    "Đinh Bộ Lĩnh",
    "Bạch Đằng",
    "Phan Đăng Lưu",
    "Nguyễn Oanh",
    "Quang Trung",
    "Tô Ký",
    "Mai Chí Thọ",
    "Song Hành",
    "Tôn Đức Thắng",
    "Bến Vân Đồn",
    "Khánh Hội",
    "Ung Văn Khiêm",
    "Nơ Trang Long",
    "Võ Thị Sáu",
    "Pasteur",
    "Đồng Khởi",
    "Lê Lợi",
    "Hàm Nghi",
    "Nguyễn Huệ",
    "Tân Sơn Nhì",
    "Lũy Bán Bích",
    "Tân Kỳ Tân Quý",
    "Hương Lộ 2",
    "An Dương Vương",
    "Hậu Giang",
    "Bà Hom",
    "Tên Lửa",
    "Rạch Chiếc",
    "Đỗ Xuân Hợp",
    "Lê Văn Lương",
    "Nguyễn Tất Thành",
]
PLACES = [
    "Ngã tư",
    "Ngã ba",
    "Ngã sáu",
    "Vòng xoay",
    "Cầu",
    "Nút giao",
    "Giao lộ",
    "Trước cổng",
    "Hầm",
    "Bến xe",
    "Chợ",
    "Trạm thu phí",
    "Công viên",
    "Bệnh viện",
    "Trường",
    "Cổng",
]
LANDMARKS = [
    "Sài Gòn",
    "Bến Thành",
    "Hàng Xanh",
    "Thủ Đức",
    "Dân Chủ",
    "Phú Lâm",
    "Cây Gõ",
    "Lăng Cha Cả",
    "Bảy Hiền",
    "Điện Biên Phủ",
    "Tân Thuận",
    "Kênh Tẻ",
    "Miền Đông",
    "Miền Tây",
    "An Sương",
    "Gò Dưa",
    "Bình Triệu",
    "Thủ Thiêm",
    "Chợ Lớn",
    "Bà Chiểu",
    "Gia Định",
    "Tân Định",
    "Lê Văn Sỹ",
    "Nhiêu Lộc",
    "Phú Mỹ",
    "Rạch Ông",
    "Chánh Hưng",
    "Nhị Thiên Đường",
    "Tân Cảng",
    "Âu Cơ",
    "Văn Thánh",
    "Hoàng Hoa Thám",
    "Sân bay Tân Sơn Nhất",
    "Đầm Sen",
    "Suối Tiên",
]
DISTRICTS = [
    ("Q1", "Quận 1"),
    ("Q3", "Quận 3"),
    ("Q4", "Quận 4"),
    ("Q5", "Quận 5"),
    ("Q6", "Quận 6"),
    ("Q7", "Quận 7"),
    ("Q8", "Quận 8"),
    ("Q10", "Quận 10"),
    ("Q11", "Quận 11"),
    ("Q12", "Quận 12"),
    ("BTH", "Bình Thạnh"),
    ("GVA", "Gò Vấp"),
    ("PNH", "Phú Nhuận"),
    ("TBI", "Tân Bình"),
    ("TPH", "Tân Phú"),
    ("BTA", "Bình Tân"),
    ("TDU", "Thủ Đức"),
    ("BCH", "Bình Chánh"),
    ("CCH", "Củ Chi"),
    ("HMO", "Hóc Môn"),
    ("NBE", "Nhà Bè"),
    ("CGI", "Cần Giờ"),
]
VENDORS = ["Hikvision", "Dahua", "Axis", "Bosch", "Hanwha", "Vivotek", "Uniview"]
KINDS = ["fixed", "fixed", "fixed", "ptz", "dome", "anpr", "speed"]

# Deterministic pseudo-random picks (hash of the row number), so every load is the same data set.
LOAD_SQL = """
WITH d AS (SELECT $1::text[] AS roads, $2::text[] AS places, $3::text[] AS landmarks,
                  $4::text[] AS dcodes, $5::text[] AS dnames, $6::text[] AS vendors, $7::text[] AS kinds),
n AS (
    SELECT i, abs(hashint4(i)::bigint) AS h1, abs(hashint4(i + 7919)::bigint) AS h2,
           abs(hashint4(i + 104729)::bigint) AS h3
    FROM generate_series($8::int + 1, $8::int + $9::int) AS i
)
INSERT INTO camera (id, code, name, latitude, longitude, address, district, road, direction, kind,
                    vendor, model, lifecycle, heartbeat_interval_s, tags, owner, version)
SELECT gen_random_uuid(),
       d.dcodes[1 + n.h1 % cardinality(d.dcodes)] || '-' || lpad(n.i::text, 6, '0'),
       d.places[1 + n.h2 % cardinality(d.places)] || ' ' ||
           CASE WHEN n.h3 % 3 = 0 THEN d.landmarks[1 + n.h1 % cardinality(d.landmarks)]
                ELSE d.roads[1 + n.h2 % cardinality(d.roads)] || ' - ' || d.roads[1 + n.h3 % cardinality(d.roads)]
           END,
       10.60 + (n.h1 % 100000) / 250000.0,
       106.50 + (n.h2 % 100000) / 250000.0,
       (1 + n.h3 % 999)::text || ' ' || d.roads[1 + n.h2 % cardinality(d.roads)] || ', Phường '
           || (1 + n.h1 % 27)::text || ', ' || d.dnames[1 + n.h1 % cardinality(d.dcodes)],
       d.dcodes[1 + n.h1 % cardinality(d.dcodes)],
       d.roads[1 + n.h2 % cardinality(d.roads)],
       (ARRAY['Bắc', 'Nam', 'Đông', 'Tây'])[1 + n.h3 % 4],
       d.kinds[1 + n.h3 % cardinality(d.kinds)],
       d.vendors[1 + n.h2 % cardinality(d.vendors)],
       'M-' || (n.h3 % 20)::text,
       CASE WHEN n.h1 % 50 = 0 THEN 'maintenance' WHEN n.h1 % 97 = 0 THEN 'planned' ELSE 'active' END,
       30,
       ARRAY[(ARRAY['traffic', 'junction', 'bridge', 'tunnel', 'school'])[1 + n.h2 % 5]],
       (ARRAY['Sở GTVT', 'Công an TP', 'UBND quận'])[1 + n.h3 % 3],
       1
FROM n, d
"""


async def load(dsn: str, count: int) -> float:
    """Append count cameras; the seconds it took."""
    conn = await asyncpg.connect(dsn)
    try:
        start = time.perf_counter()
        offset = await conn.fetchval("SELECT count(*) FROM camera")
        await conn.execute(
            LOAD_SQL,
            ROADS,
            PLACES,
            LANDMARKS,
            [code for code, _ in DISTRICTS],
            [name for _, name in DISTRICTS],
            VENDORS,
            KINDS,
            offset,
            count,
        )
        await conn.execute("VACUUM ANALYZE camera")
        return time.perf_counter() - start
    finally:
        await conn.close()


def main(argv: list[str]) -> None:
    """Command line: DSN [COUNT]."""
    if not argv:
        sys.exit(__doc__)
    count = int(argv[1]) if len(argv) > 1 else 100_000
    seconds = asyncio.run(load(argv[0], count))
    print(f"loaded {count} cameras in {seconds:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
