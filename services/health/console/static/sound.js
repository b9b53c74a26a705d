// The alarm: a short two-tone beep made with WebAudio (no sound file). Browsers allow sound only after a
// click, so the button's first press creates the context; then unacked incidents beep about once a minute.
const REPEAT_MS = 60000;

export class Alarm {
  constructor(wanted) { this.wanted = wanted; this.ctx = null; this.last = 0; }

  get on() { return this.wanted && this.ctx !== null; }

  toggle() {
    if (!this.ctx) { this.ctx = new AudioContext(); this.wanted = true; } else { this.wanted = !this.wanted; }
    return this.on;
  }

  beep() {
    const t = this.ctx.currentTime;
    for (const [i, f] of [880, 660].entries()) {
      const o = this.ctx.createOscillator();
      const g = this.ctx.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.2, t + i * 0.25);
      g.gain.exponentialRampToValueAtTime(0.001, t + i * 0.25 + 0.22);
      o.connect(g).connect(this.ctx.destination);
      o.start(t + i * 0.25);
      o.stop(t + i * 0.25 + 0.24);
    }
  }

  // Called on every change and every tick: a new unacked incident beeps now, the rest once a minute.
  check(unacked, fresh) {
    if (!this.on || unacked === 0) return;
    const now = Date.now();
    if (fresh || now - this.last >= REPEAT_MS) { this.last = now; this.beep(); }
  }
}
