// Labels in Vietnamese (the default) and English; status labels come from GET /v1/health/statuses.
export const STRINGS = {
  vi: {
    signin_title: "Đăng nhập bảng điều hành", api_key: "Khóa API", signin: "Đăng nhập", signout: "Đăng xuất",
    theme: "Giao diện", as_of: "Lúc", areas: "Khu vực", area: "Khu vực", total: "Tổng", offline: "Mất kết nối",
    degraded: "Suy giảm", availability: "Sẵn sàng", incidents: "Sự cố", map: "Bản đồ",
    open_incidents: "Sự cố đang mở", offline_list: "Camera mất kết nối", close: "Đóng", ack: "Xác nhận",
    unack: "Bỏ xác nhận", acked_by: "Đã xác nhận bởi", live: "Trực tiếp", stale_since: "Dữ liệu cũ từ",
    connecting: "Đang kết nối…", sound_on: "Âm thanh: bật", sound_off: "Âm thanh: tắt", since: "từ",
    minutes: "phút", hours: "giờ", no_incidents: "Không có sự cố", none_offline: "Không có camera mất kết nối",
    summary: "Tổng hợp", cause: { gateway: "Gateway", ward: "Phường/xã", district: "Quận/huyện", ingest: "Đường nhận dữ liệu" },
    guard: "Không tính được trạng thái: không nhận được nhịp tim nào trên toàn thành phố (bảo vệ dữ liệu cũ đang bật); camera không bị chuyển sang mất kết nối.",
    reason: "Lý do", last_heartbeat: "Nhịp tim gần nhất", transitions: "Chuyển trạng thái 24 giờ", device: "Thông tin đăng ký",
    signin_failed: "Khóa không hợp lệ hoặc đã bị thu hồi", cameras: "camera", changed: "thay đổi trong 2 phút",
    ack_failed: "Không xác nhận được", credentials: "có thông tin đăng nhập (ẩn)",
  },
  en: {
    signin_title: "Sign in to the console", api_key: "API key", signin: "Sign in", signout: "Sign out",
    theme: "Theme", as_of: "As of", areas: "Areas", area: "Area", total: "Total", offline: "Offline",
    degraded: "Degraded", availability: "Availability", incidents: "Incidents", map: "Map",
    open_incidents: "Open incidents", offline_list: "Offline cameras", close: "Close", ack: "Acknowledge",
    unack: "Withdraw ack", acked_by: "Acknowledged by", live: "Live", stale_since: "Stale since",
    connecting: "Connecting…", sound_on: "Sound: on", sound_off: "Sound: off", since: "since",
    minutes: "min", hours: "h", no_incidents: "No incidents", none_offline: "No camera offline",
    summary: "Summary", cause: { gateway: "Gateway", ward: "Ward", district: "District", ingest: "Ingest path" },
    guard: "Status cannot be computed: no heartbeat arrives city-wide (the stale-ingest guard is on); cameras are not turned offline.",
    reason: "Reason", last_heartbeat: "Last heartbeat", transitions: "Transitions, last 24 h", device: "Registry",
    signin_failed: "The key is unknown or revoked", cameras: "cameras", changed: "changed in the last 2 minutes",
    ack_failed: "Acknowledgement failed", credentials: "has credentials (hidden)",
  },
};

const ZONE = "Asia/Ho_Chi_Minh";

export function makeI18n(lang) {
  const s = STRINGS[lang] || STRINGS.vi;
  const locale = lang === "en" ? "en-GB" : "vi-VN";
  const clock = new Intl.DateTimeFormat(locale, { timeZone: ZONE, hour: "2-digit", minute: "2-digit", hour12: false });
  const full = new Intl.DateTimeFormat(locale, {
    timeZone: ZONE, day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  return {
    lang,
    t: (key) => s[key] ?? key,
    cause: (kind) => s.cause[kind] ?? kind,
    // The zone is always shown: the wall may be read from anywhere, the city keeps GMT+7.
    time: (d) => `${clock.format(d)} (GMT+7)`,
    stamp: (d) => `${full.format(d)} (GMT+7)`,
    age: (ms) => {
      const m = Math.max(0, Math.floor(ms / 60000));
      return m < 60 ? `${m} ${s.minutes}` : `${Math.floor(m / 60)} ${s.hours} ${m % 60} ${s.minutes}`;
    },
  };
}
