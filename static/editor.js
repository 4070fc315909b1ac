// The config editor: a plain textarea with line numbers beside it and, over it, marks under the places the
// server found a problem. The textarea stays the control: the numbers and the marks are drawn for the eye
// (aria-hidden) and the same problems are listed as buttons beside the editor for keyboards and readers.
// The textarea does not wrap and uses a monospace font, so a line and a column are a row and a `ch` offset.

function lineCount(text) {
  let count = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count += 1;
  return count;
}

/** Offset of the first character of a 1-based line, clamped to the text. */
function lineStart(text, line) {
  let offset = 0;
  for (let current = 1; current < line; current += 1) {
    const newline = text.indexOf('\n', offset);
    if (newline === -1) return offset;
    offset = newline + 1;
  }
  return offset;
}

function lineText(text, line) {
  const start = lineStart(text, line);
  const end = text.indexOf('\n', start);
  return text.slice(start, end === -1 ? text.length : end);
}

/** What a mark at this column underlines: the word there, or a space where there is none (a missing value). */
function markedText(line, column) {
  const word = /^[^\s,[\]{}]+/.exec(line.slice(column - 1));
  return word ? word[0].slice(0, 80) : '\u00a0';
}

export class Editor {
  constructor({ textarea, gutter, marks }) {
    this.textarea = textarea;
    this.gutter = gutter;
    this.marks = marks;
    this.marked = [];
    textarea.addEventListener('scroll', () => this.syncScroll());
  }

  get text() {
    return this.textarea.value;
  }

  /** Replaces the text and puts the caret and the view at its top. */
  setText(text) {
    this.textarea.value = text;
    this.textarea.setSelectionRange(0, 0);
    this.textarea.scrollTop = 0;
    this.clearMarks();
    this.updateGutter();
  }

  updateGutter() {
    const count = lineCount(this.textarea.value);
    if (this.gutter.childElementCount !== count) {
      const numbers = [];
      for (let line = 1; line <= count; line += 1) {
        const number = document.createElement('span');
        number.textContent = String(line);
        numbers.push(number);
      }
      this.gutter.replaceChildren(...numbers);
      this.markGutter();
    }
    this.syncScroll();
  }

  syncScroll() {
    this.gutter.scrollTop = this.textarea.scrollTop;
    this.marks.firstElementChild?.style.setProperty(
      'transform', `translate(${-this.textarea.scrollLeft}px, ${-this.textarea.scrollTop}px)`);
  }

  /**
   * Marks each located problem: its line number in the gutter, and a wavy line under the word at its column.
   * Both lists hold the server's {line, column, ...}; a line past the end of the text is not marked.
   */
  mark(errors, warnings) {
    const text = this.textarea.value;
    const lines = lineCount(text);
    const located = (issues, kind) => issues.filter((i) => i.line && i.line <= lines).map((i) => ({ ...i, kind }));
    // Errors last, so that where both fall on one line the error's colour is on top.
    this.marked = [...located(warnings, 'warning'), ...located(errors, 'error')];
    const layer = document.createElement('div');
    layer.className = 'editor-marks-layer';
    for (const issue of this.marked) {
      const mark = document.createElement('span');
      mark.className = `editor-mark ${issue.kind}`;
      const column = Math.max(issue.column || 1, 1);
      mark.style.setProperty('--line', String(issue.line));
      mark.style.setProperty('--column', String(column));
      mark.textContent = markedText(lineText(text, issue.line), column);
      layer.append(mark);
    }
    this.marks.replaceChildren(layer);
    this.markGutter();
    this.syncScroll();
  }

  clearMarks() {
    this.mark([], []);
  }

  markGutter() {
    for (const number of this.gutter.querySelectorAll('.error, .warning')) number.classList.remove('error', 'warning');
    for (const issue of this.marked) this.gutter.children[issue.line - 1]?.classList.add(issue.kind);
  }

  /** Puts the caret at a line and column, the line a third of the way down, and the page scrolled to it. */
  goToLine(line, column) {
    const text = this.textarea.value;
    const start = lineStart(text, line);
    const end = text.indexOf('\n', start) === -1 ? text.length : text.indexOf('\n', start);
    const caret = Math.min(start + Math.max((column || 1) - 1, 0), end);
    this.textarea.focus({ preventScroll: true });
    this.textarea.setSelectionRange(caret, caret);
    const style = getComputedStyle(this.textarea);
    const lineHeight = parseFloat(style.lineHeight) || 20;
    this.textarea.scrollTop = Math.max(0, (line - 1) * lineHeight - this.textarea.clientHeight / 3);
    this.syncScroll();
    this.scrollLineIntoView(line, lineHeight, parseFloat(style.paddingTop) || 0);
    for (const marked of this.gutter.querySelectorAll('.current')) marked.classList.remove('current');
    this.gutter.children[line - 1]?.classList.add('current');
  }

  /** On a small screen the editor is taller than the window: scroll the page too, so the line is on screen. */
  scrollLineIntoView(line, lineHeight, paddingTop) {
    const box = this.textarea.getBoundingClientRect();
    const top = box.top + paddingTop + (line - 1) * lineHeight - this.textarea.scrollTop;
    if (top < 0 || top + lineHeight > window.innerHeight) {
      window.scrollBy({ top: top - window.innerHeight / 3, behavior: 'instant' });
    }
  }
}
