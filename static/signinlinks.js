// The page's sign-in links: the trainer types Guacamole's key, its address and the expiry; the app gives each
// user's document without its expiry (GET /api/usermapping/sign-in-documents) and signin.js signs them here.
// The key is read from its field when the links are made and goes nowhere: not in a request, not in storage,
// not in the page's state. The fields have no name and are in no form, so nothing can ever submit them.

import { keyBytes, signInLink } from './signin.js';
import { renderIssues } from './problems.js';
import { plural } from './words.js';

const LINKS_FILE = 'sign-in-links.csv';
const URL_KEY = 'usermapper.guacamoleUrl'; // the server's address, remembered: it is no secret
const DEFAULT_HOURS = 8;

const $ = (id) => document.getElementById(id);

export class SignInLinks {
  /**
   * `fetchDocuments()` resolves to request()'s answer for the shown file's documents; `fileProblem(problem)`
   * shows a problem of the file itself (gone, replaced); `goToIssue` and `announce` are the page's.
   */
  constructor({ fetchDocuments, fileProblem, goToIssue, announce }) {
    Object.assign(this, { fetchDocuments, fileProblem, goToIssue, announce });
    this.ui = {
      section: $('signin'), key: $('signin-key'), url: $('signin-url'), expires: $('signin-expires'),
      singleUse: $('signin-single-use'), make: $('make-links'), problem: $('signin-problem'),
      problemTitle: $('signin-problem-title'), problemDetail: $('signin-problem-detail'),
      warnings: $('signin-warnings'), warningsTitle: $('signin-warnings-title'),
      warningsList: $('signin-warnings-list'), result: $('signin-result'), summary: $('signin-summary'),
      body: $('signin-body'), download: $('download-links'),
    };
    this.documents = null;
    this.csv = null;
    this.ui.make.addEventListener('click', () => this.make());
    for (const field of [this.ui.key, this.ui.url, this.ui.expires]) {
      field.addEventListener('keydown', (event) => { if (event.key === 'Enter') this.make(); });
    }
    this.ui.download.addEventListener('click', () => this.download());
    this.ui.url.value = remembered(URL_KEY);
  }

  /** A new file is shown: its links are still to be made. */
  reset() {
    this.documents = null;
    this.clear();
    this.ui.make.disabled = false;
    if (!this.ui.expires.value) this.ui.expires.value = localInputValue(defaultExpiry());
  }

  /** The file is gone: links already made still work, but no new ones can be made from it. */
  disable() {
    this.ui.make.disabled = true;
  }

  clear() {
    this.csv = null;
    this.ui.body.replaceChildren();
    this.ui.result.hidden = true;
    this.ui.problem.hidden = true;
    this.ui.warnings.hidden = true;
  }

  async make() {
    if (this.ui.make.disabled) return;
    this.clear();
    const asked = this.readFields();
    if (!asked) return;
    this.ui.make.disabled = true;
    try {
      if (!this.documents) {
        const answer = await this.fetchDocuments();
        if (!answer.ok) {
          this.showFetchProblem(answer.problem);
          return;
        }
        this.documents = answer.body;
      }
      await this.sign(asked);
    } finally {
      this.ui.make.disabled = false;
    }
  }

  /** The key, address and expiry, or null after saying which field is wrong. */
  readFields() {
    let key;
    try {
      key = keyBytes(this.ui.key.value);
    } catch (error) {
      return this.refuse(this.ui.key, 'The key is not usable', error.message);
    }
    const url = this.ui.url.value.trim();
    const urlProblem = addressProblem(url);
    if (urlProblem) return this.refuse(this.ui.url, 'The address is not usable', urlProblem);
    const expires = new Date(this.ui.expires.value).getTime();
    if (!Number.isSafeInteger(expires)) {
      return this.refuse(this.ui.expires, 'No expiry', 'Choose the date and time the links stop working.');
    }
    if (expires <= Date.now()) {
      return this.refuse(this.ui.expires, 'The expiry has passed', 'Every link would already have expired.');
    }
    storeRemembered(URL_KEY, url);
    return { key, url, expires, singleUse: this.ui.singleUse.checked };
  }

  async sign({ key, url, expires, singleUse }) {
    const { users, tails, warnings, max_link_chars: maxChars } = this.documents;
    const links = [];
    for (const user of users) {
      const link = await signInLink(url, key, user.head, tails[user.tail], expires, singleUse);
      if (link.length > maxChars) {
        this.refuse(null, 'A sign-in link would be too long', `The link of ${user.username} (${user.type}) would be `
          + `${link.length.toLocaleString()} characters; browsers and Guacamole take at most `
          + `${maxChars.toLocaleString()}. Give that user type fewer connections.`);
        return;
      }
      links.push([user.type, user.username, link]);
    }
    this.csv = linksCsv(links);
    this.render(links, warnings, expires, singleUse);
  }

  render(links, warnings, expires, singleUse) {
    const until = new Date(expires);
    const once = singleUse ? ', each signing in once' : '';
    this.ui.summary.textContent = `${plural(links.length, 'link', 'links')}, valid until `
      + `${until.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })} `
      + `(${until.toISOString().replace('.000Z', 'Z')})${once}. Each link is a way in: hand it to its user alone.`;
    this.ui.body.replaceChildren(...links.map(linkRow));
    this.ui.warnings.hidden = warnings.length === 0;
    this.ui.warningsTitle.textContent = plural(warnings.length, 'warning', 'warnings');
    renderIssues(this.ui.warningsList, warnings, this.goToIssue);
    this.ui.result.hidden = false;
    this.announce(`Made ${plural(links.length, 'sign-in link', 'sign-in links')}.`);
  }

  showFetchProblem(problem) {
    if (['no-file-for-this-session', 'the-file-was-replaced'].includes(problem.key)) this.fileProblem(problem);
    else this.refuse(null, problem.title, problem.detail);
  }

  refuse(field, title, detail) {
    this.ui.problemTitle.textContent = title;
    this.ui.problemDetail.textContent = detail;
    this.ui.problem.hidden = false;
    (field || this.ui.problem).focus();
    this.announce(`${title}. ${detail}`);
    return null;
  }

  download() {
    if (!this.csv) return;
    const url = URL.createObjectURL(new Blob([this.csv], { type: 'text/csv' }));
    const anchor = Object.assign(document.createElement('a'), { href: url, download: LINKS_FILE });
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
}

/** Why `url` cannot be Guacamole's address, as the command line's --guacamole-url says; '' when it can. */
export function addressProblem(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || !parsed.host) {
    return 'Give an http or https address, such as https://guacamole.example.org/guacamole.';
  }
  if (url.includes('?') || url.includes('#')) return 'Give the address of Guacamole\'s page alone, without ? or #.';
  return '';
}

/** The links as the command line writes them: type, username, link; CRLF; quoted as Python's csv module quotes. */
export function linksCsv(rows) {
  const cell = (text) => (/[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
  return [['type', 'username', 'link'], ...rows].map((row) => `${row.map(cell).join(',')}\r\n`).join('');
}

function linkRow([type, username, link]) {
  const row = document.createElement('tr');
  const cells = [type, username].map((text) => Object.assign(document.createElement('td'), { textContent: text }));
  const linkCell = Object.assign(document.createElement('td'), { className: 'link', textContent: link, title: link });
  row.append(...cells, linkCell);
  return row;
}

function defaultExpiry() {
  const when = new Date(Date.now() + DEFAULT_HOURS * 3600 * 1000);
  when.setMinutes(0, 0, 0);
  return when;
}

/** A date as a datetime-local field shows it: local time, to the minute. */
function localInputValue(date) {
  const pad = (number) => String(number).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:`
    + `${pad(date.getMinutes())}`;
}

function remembered(key) {
  try {
    return window.localStorage.getItem(key) || '';
  } catch {
    return '';
  }
}

function storeRemembered(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // Storage refused (a private mode): the address is typed again next time.
  }
}
