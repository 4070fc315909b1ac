// Checking the config while the trainer types: after each pause, the text goes to POST
// /api/usermapping/check (with the previous credentials sheet, if one is chosen), which says what generating
// would say and stores nothing.
//
// Only the newest text's answer is ever shown. A new pause aborts the request still on its way, and each
// answer carries the number of the request that asked; one that is not the newest is dropped, so a slow
// answer can never land on top of a newer one.

import { request } from './api.js';

const CHECK_API = '/api/usermapping/check';

export class LiveCheck {
  /**
   * `form()` gives what to send (FormData: the config, and any sheet), or null when there is nothing to
   * check; `answered(answer)` gets null for nothing to check, else what `request` (api.js) resolved to:
   * {ok: true, body} with the server's verdict, or {ok: false, problem} when it could not give one (a
   * config too big to send, another origin, the server unreachable).
   */
  constructor({ form, answered, delayMs = 350 }) {
    this.form = form;
    this.answered = answered;
    this.delayMs = delayMs;
    this.timer = 0;
    this.asked = 0;
    this.inFlight = null;
  }

  /** Called on every change: the check runs once the trainer has paused for `delayMs`. */
  schedule() {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.run(), this.delayMs);
  }

  /** Drops any pending or running check: Generate is about to say what the server makes of this text. */
  cancel() {
    window.clearTimeout(this.timer);
    this.inFlight?.abort();
    this.inFlight = null;
    this.asked += 1;
  }

  /** Checks now (on loading a file or an example, after a reload), dropping any pending or running check. */
  async run() {
    this.cancel();
    const form = this.form();
    const number = this.asked;
    if (!form) {
      this.inFlight = null;
      this.answered(null);
      return;
    }
    const controller = new AbortController();
    this.inFlight = controller;
    let answer;
    try {
      answer = await request(CHECK_API, { method: 'POST', body: form, signal: controller.signal });
    } catch (error) {
      if (error.name === 'AbortError') return; // a newer text's check replaced this one
      throw error;
    }
    if (number !== this.asked) return; // a newer text was sent meanwhile: its answer is the one to show
    this.inFlight = null;
    this.answered(answer);
  }
}
