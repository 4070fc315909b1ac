// What the page says when something is wrong: the server's problem documents turned into sentences a
// trainer can act on (never the raw body), and lists of located errors and warnings, each a button that
// goes to its line. Generating and checking as you type both use these, so they say the same thing.
// The words for each of the API's problems are in its table (usermapper/web/problems.py), which the app
// serves as problemtable.js; only failures the API never answers with are worded here.

import PROBLEMS from './problemtable.js';
import { formatBytes, plural } from './words.js';

const byKey = new Map(PROBLEMS.map((kind) => [kind.key, kind]));
const byTitle = new Map(PROBLEMS.map((kind) => [kind.title, kind]));

/** One list item per error or warning; those with a line become buttons that call `choose(issue)`. */
export function renderIssues(list, issues, choose) {
  list.replaceChildren(...issues.map((issue) => issueItem(issue, choose, issueWhere(issue))));
}

/**
 * The problems of a previous credentials sheet, the same way but each at its line and column in the sheet,
 * and as text: the sheet is not in the editor, so there is no line to go to.
 */
export function renderSheetIssues(list, issues) {
  list.replaceChildren(...issues.map((issue) => issueItem(issue, null, sheetWhere(issue))));
}

function issueItem(issue, choose, where) {
  const item = document.createElement('li');
  const message = document.createElement('span');
  message.className = 'issue-message';
  message.textContent = issue.message;
  if (!issue.line || !choose) {
    item.append(...(where ? [issueLabel(where), ' '] : []), message);
    return item;
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'issue';
  button.append(issueLabel(where), ' ', message);
  button.addEventListener('click', () => choose(issue));
  item.append(button);
  return item;
}

function issueWhere(issue) {
  const place = [];
  if (issue.line) place.push(`Line ${issue.line}`);
  if (issue.path) place.push(issue.path);
  return place.join(' · ');
}

/** "Sheet line 3, column 1 · username": the place in the sheet, and the name of the sheet's column there. */
function sheetWhere(issue) {
  const place = issue.line ? [`Sheet line ${issue.line}, column ${issue.column}`] : [];
  if (issue.path) place.push(issue.path);
  return place.join(' · ');
}

function issueLabel(text) {
  const label = document.createElement('span');
  label.className = 'issue-where';
  label.textContent = text;
  return label;
}

/**
 * A failed answer as the page says it: the problem of the table (served by the app as problemtable.js)
 * whose title the answer names, or, for an answer that is not one of the API's problem documents (a
 * proxy's, the host's own), the first problem of its status; any other status is an internal error.
 * Gives {key, status, title, detail, errors, retryAfter}.
 */
export function describeProblem(status, body, retryAfter = null) {
  const kind = byTitle.get(body?.title)
    ?? PROBLEMS.find((candidate) => candidate.statuses.includes(status)) ?? byKey.get('internal-error');
  return worded(kind, status, body, retryAfter);
}

/** The table's words for a problem the page learns of without asking (the file expired, another tab replaced it). */
export function problemOf(key) {
  const kind = byKey.get(key);
  return worded(kind, kind.statuses[0], null, null);
}

function worded(kind, status, body, retryAfter) {
  const errors = Array.isArray(body?.errors) ? body.errors : [];
  const detail = typeof body?.detail === 'string' ? body.detail : '';
  // Only the table's own words are filled in: a server's detail may quote what the trainer wrote.
  const fill = (text) => text
    .replace('{problems}', plural(errors.length || 1, 'problem', 'problems'))
    .replace('{retry}', retryWhen(retryAfter))
    .replace('{status}', String(status));
  return {
    key: kind.key,
    status,
    title: fill(kind.page.title),
    detail: kind.page.detail ? fill(kind.page.detail) : detail || fill(kind.page.hint),
    errors,
    retryAfter,
  };
}

// What the page says of failures that are not the API's problems: each has a key of its own, none of the table's.

export function endedElsewhereProblem() {
  return notice('ended-elsewhere', 0, 'This file is no longer available',
    'It was deleted with Start over in another tab. Generate it again from your config.');
}

export function networkProblem() {
  return notice('unreachable', 0, 'The server could not be reached', 'Check your network connection, then try again.');
}

export function unreadableAnswer(status) {
  return notice('unreadable-answer', status, 'The server sent an answer the page cannot read',
    'Try again in a moment; if it happens again, reload the page.');
}

/** A previous credentials sheet refused here, before anything is sent: larger than the app takes a config. */
export function sheetTooLargeProblem(name, size, limit) {
  return notice('sheet-too-large', 0, `“${name}” is too large to keep passwords from`,
    `It is ${formatBytes(size)}; a credentials sheet may be at most ${formatBytes(limit)} `
    + `(${plural(limit, 'byte', 'bytes')}), as large as a config. Nothing was sent.`);
}

export function unreadableSheetProblem(name) {
  return notice('unreadable-sheet', 0, `“${name}” could not be read`,
    'The browser could not read the file: it may have been moved or changed. Choose it again.');
}

function notice(key, status, title, detail) {
  return { key, status, title, detail, errors: [], retryAfter: null };
}

/** Retry-After (seconds or an HTTP date) as a phrase such as "in about 30 seconds". */
export function retryWhen(header) {
  let seconds = /^\d+$/.test(header || '') ? Number(header) : (Date.parse(header || '') - Date.now()) / 1000;
  if (!Number.isFinite(seconds) || seconds <= 0) return 'in a moment';
  seconds = Math.ceil(seconds);
  if (seconds < 90) return `in about ${plural(seconds, 'second', 'seconds')}`;
  return `in about ${plural(Math.round(seconds / 60), 'minute', 'minutes')}`;
}
