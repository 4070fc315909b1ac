// What the page says when something is wrong: the server's problem documents turned into sentences a
// trainer can act on (never the raw body), and lists of located errors and warnings, each a button that
// goes to its line. Generating and checking as you type both use these, so they say the same thing.

import { plural } from './words.js';

/** One list item per error or warning; those with a line become buttons that call `choose(issue)`. */
export function renderIssues(list, issues, choose) {
  list.replaceChildren(...issues.map((issue) => issueItem(issue, choose)));
}

function issueItem(issue, choose) {
  const item = document.createElement('li');
  const where = issueWhere(issue);
  const message = document.createElement('span');
  message.className = 'issue-message';
  message.textContent = issue.message;
  if (!issue.line) {
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

function issueLabel(text) {
  const label = document.createElement('span');
  label.className = 'issue-where';
  label.textContent = text;
  return label;
}

async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** Turns a failed response into a sentence a trainer can act on. */
export async function problemFrom(response) {
  return describeProblem(response.status, await readJson(response), response.headers.get('Retry-After'));
}

/** The same, from a problem document's status and body (the check route sends them inside its answer). */
export function describeProblem(status, body, retryAfter = null) {
  const errors = Array.isArray(body?.errors) ? body.errors : [];
  const detail = typeof body?.detail === 'string' ? body.detail : '';
  switch (status) {
    case 400:
      return {
        title: 'The config could not be read',
        detail: errors.length ? 'Check the YAML at the line shown.' : detail || 'Check that it is YAML text.',
        errors,
      };
    case 404:
      return expiredProblem();
    case 413:
      return {
        title: 'The config or the lab is too large for the web page',
        detail: detail || 'Make the lab smaller, or use the usermapper command line for big labs.',
      };
    case 415:
      return { title: 'The server did not accept the upload', detail: 'Reload the page and try again.' };
    case 422:
      return {
        title: `The config has ${plural(errors.length || 1, 'problem', 'problems')}`,
        detail: errors.length ? 'Choose one to go to its line in the editor.' : detail,
        errors,
      };
    case 503:
      return {
        title: 'Storage is unavailable right now',
        detail: `Nothing was lost: your config is still here. Try again ${retryWhen(retryAfter)}.`,
      };
    default:
      return {
        title: 'Something went wrong on the server',
        detail: `It answered with status ${status}. Try again in a moment.`,
      };
  }
}

export function expiredProblem() {
  return {
    title: 'This file is no longer available',
    detail: 'It expired or was deleted. Generate it again from your config.',
  };
}

export function replacedProblem() {
  return {
    title: 'This file was replaced in another tab',
    detail: 'Another tab of this browser generated a new file, and the server keeps one per browser. '
      + 'Show the current file, or generate this one again.',
  };
}

export function endedElsewhereProblem() {
  return {
    title: 'This file is no longer available',
    detail: 'It was deleted with Start over in another tab. Generate it again from your config.',
  };
}

export function networkProblem() {
  return {
    title: 'The server could not be reached',
    detail: 'Check your network connection, then try again.',
  };
}

/** Retry-After (seconds or an HTTP date) as a phrase such as "in about 30 seconds". */
export function retryWhen(header) {
  let seconds = /^\d+$/.test(header || '') ? Number(header) : (Date.parse(header || '') - Date.now()) / 1000;
  if (!Number.isFinite(seconds) || seconds <= 0) return 'in a moment';
  seconds = Math.ceil(seconds);
  if (seconds < 90) return `in about ${plural(seconds, 'second', 'seconds')}`;
  return `in about ${plural(Math.round(seconds / 60), 'minute', 'minutes')}`;
}
