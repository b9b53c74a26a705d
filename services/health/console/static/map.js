// The SVG map: one glyph per camera at its coordinates, shaped and coloured by the status table.
const NS = "http://www.w3.org/2000/svg";
const W = 1000;
const SIZE = 9;

const SHAPES = {
  circle: `<circle cx="5" cy="5" r="4"/>`,
  triangle: `<path d="M5 0.5 9.5 9H0.5Z"/>`,
  cross: `<path d="M1 2.5 2.5 1 5 3.5 7.5 1 9 2.5 6.5 5 9 7.5 7.5 9 5 6.5 2.5 9 1 7.5 3.5 5Z"/>`,
  diamond: `<path d="M5 0 10 5 5 10 0 5Z"/>`,
  ring: `<circle cx="5" cy="5" r="3.2" fill="none" stroke-width="1.8"/>`,
};

export class CityMap {
  constructor(svg, styles, onPick) {
    this.svg = svg;
    this.styles = styles;
    this.glyphs = new Map();
    this.project = null;
    svg.addEventListener("click", (e) => {
      const id = e.target.closest("[data-id]")?.dataset.id;
      if (id) onPick(id);
    });
  }

  // Equirectangular with the latitude's cosine: true to shape over a city's extent.
  fit(points) {
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const [lon, lat] of points) {
      x0 = Math.min(x0, lon); x1 = Math.max(x1, lon); y0 = Math.min(y0, lat); y1 = Math.max(y1, lat);
    }
    if (!isFinite(x0)) [x0, y0, x1, y1] = [106.3, 10.3, 107.1, 11.2];
    const k = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
    const span = Math.max((x1 - x0) * k, y1 - y0, 1e-3);
    const scale = (W - 2 * SIZE) / span;
    const h = Math.ceil((y1 - y0) * scale + 2 * SIZE);
    this.svg.setAttribute("viewBox", `0 0 ${W} ${h}`);
    this.project = (lon, lat) => [SIZE + (lon - x0) * k * scale, SIZE + (y1 - lat) * scale];
  }

  defs() {
    const defs = document.createElementNS(NS, "defs");
    defs.innerHTML = Object.values(this.styles).map((s) =>
      `<symbol id="g-${s.status}" viewBox="0 0 10 10" fill="${s.colour}" stroke="${s.colour}">${SHAPES[s.shape]}</symbol>`
    ).join("");
    return defs;
  }

  draw(cameras, label) {
    this.fit([...cameras].map((c) => [c.lon, c.lat]));
    const frag = document.createDocumentFragment();
    frag.appendChild(this.defs());
    const layer = document.createElementNS(NS, "g");
    this.glyphs.clear();
    for (const c of cameras) layer.appendChild(this.glyph(c, label));
    frag.appendChild(layer);
    this.layer = layer;
    this.svg.replaceChildren(frag);
  }

  glyph(c, label) {
    const use = document.createElementNS(NS, "use");
    const [x, y] = this.project(c.lon, c.lat);
    use.setAttribute("x", (x - SIZE / 2).toFixed(1));
    use.setAttribute("y", (y - SIZE / 2).toFixed(1));
    use.setAttribute("width", SIZE);
    use.setAttribute("height", SIZE);
    use.setAttribute("role", "img");
    use.dataset.id = c.id;
    this.glyphs.set(c.id, use);
    this.paint(c, label);
    return use;
  }

  // A camera registered after the page loaded (the map keeps its extent).
  add(c, label) {
    if (this.layer && !this.glyphs.has(c.id)) this.layer.appendChild(this.glyph(c, label));
  }

  paint(camera, label) {
    const use = this.glyphs.get(camera.id);
    if (!use) return;
    use.setAttribute("href", `#g-${camera.status}`);
    use.setAttribute("aria-label", `${camera.code}: ${label(camera.status)}`);
    use.dataset.status = camera.status;
  }
}
