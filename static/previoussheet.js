// "Keep passwords from a previous sheet": the trainer chooses last time's credentials.csv with the file input,
// or drops it on the control. The file is read here into memory, and only there: never into localStorage or
// sessionStorage, never into the page's text. A file larger than the app takes a config (MAX_CONFIG_BYTES,
// which the app serves from its settings) is refused before anything is sent. The sheet goes beside the
// config, as the field `credentials`, with every check and every Generate, until it is removed or the
// trainer starts over. What the server makes of it (its problems, located in the sheet) shows under it.

import { MAX_CONFIG_BYTES } from './limits.js';
import { renderSheetIssues, sheetTooLargeProblem, unreadableSheetProblem } from './problems.js';
import { formatBytes } from './words.js';

function carriesFiles(event) {
  return Array.from(event.dataTransfer?.types || []).includes('Files');
}

export class PreviousSheet {
  /**
   * `ui` holds the control's elements (input, zone, chosen, name, remove, and the problem notice: problem,
   * problemTitle, problemDetail, problemList); `changed()` is called when a sheet is taken or dropped, and
   * `announce(text)` says something in the page's live region.
   */
  constructor({ ui, changed, announce }) {
    this.ui = ui;
    this.changed = changed;
    this.announce = announce;
    this.sheet = null; // {name, blob}: the bytes as read, never the File, which could change on disk
    this.reading = 0;
    ui.input.addEventListener('change', () => {
      const [file] = ui.input.files;
      if (file) this.use(file);
    });
    ui.remove.addEventListener('click', () => this.remove());
    ui.zone.addEventListener('dragover', (event) => this.onDragOver(event));
    ui.zone.addEventListener('dragleave', () => ui.zone.classList.remove('is-over'));
    ui.zone.addEventListener('drop', (event) => this.onDrop(event));
  }

  /** The sheet's name and bytes, or null when there is none. */
  get chosen() {
    return this.sheet;
  }

  /** Reads `file` and takes it in place of any sheet before; a file over the limit is refused unread. */
  async use(file) {
    const reading = ++this.reading;
    this.ui.input.value = ''; // the input does not keep the file; choosing the same file again still counts
    if (file.size > MAX_CONFIG_BYTES) {
      this.refuse(sheetTooLargeProblem(file.name, file.size, MAX_CONFIG_BYTES));
      return;
    }
    let bytes;
    try {
      bytes = await file.arrayBuffer();
    } catch {
      if (reading === this.reading) this.refuse(unreadableSheetProblem(file.name));
      return;
    }
    if (reading !== this.reading) return; // another file was chosen meanwhile
    this.sheet = { name: file.name, blob: new Blob([bytes], { type: 'text/csv' }) };
    this.hideProblem();
    this.render();
    this.announce(`${file.name} chosen (${formatBytes(file.size)}): users in it keep their passwords. `
      + 'It is sent with the config, and kept nowhere.');
    this.changed();
  }

  /** Forgets the sheet, without a word (Remove and Start over say it); gives whether there was one. */
  clear() {
    this.reading += 1;
    const had = this.sheet !== null;
    this.sheet = null;
    this.ui.input.value = '';
    this.hideProblem();
    this.render();
    return had;
  }

  remove() {
    const { name } = this.sheet || {};
    this.clear();
    this.ui.input.focus();
    this.announce(`${name} removed: generating gives every user of a random type a new password.`);
    this.changed();
  }

  /** A file refused before it was sent: no sheet is kept (the trainer meant to replace any before). */
  refuse(problem) {
    const had = this.sheet !== null;
    this.sheet = null;
    this.render();
    this.showProblem(problem);
    this.announce(problem.title);
    if (had) this.changed();
  }

  render() {
    this.ui.chosen.hidden = this.sheet === null;
    this.ui.name.textContent = this.sheet ? this.sheet.name : '';
    this.ui.remove.setAttribute('aria-label', this.sheet ? `Remove ${this.sheet.name}` : 'Remove');
  }

  /** The sheet's problems (the server's, located in the sheet, or the page's own), under the control. */
  showProblem(problem) {
    this.ui.problemTitle.textContent = problem.title;
    this.ui.problemDetail.textContent = problem.detail;
    this.ui.problemDetail.hidden = !problem.detail;
    renderSheetIssues(this.ui.problemList, problem.errors || []);
    this.ui.problem.hidden = false;
  }

  hideProblem() {
    this.ui.problem.hidden = true;
    this.ui.problemList.replaceChildren();
  }

  // A file dropped on the control is the sheet; the page's own drop (anywhere else: the config) never sees it.
  onDragOver(event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.stopPropagation();
    event.dataTransfer.dropEffect = 'copy';
    document.body.classList.remove('is-dragging');
    this.ui.zone.classList.add('is-over');
  }

  onDrop(event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.stopPropagation();
    document.body.classList.remove('is-dragging');
    this.ui.zone.classList.remove('is-over');
    const [file] = event.dataTransfer.files;
    if (file) this.use(file);
  }
}
