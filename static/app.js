// The usermapper page: checks the lab config as the trainer types, sends it to the API to generate the
// file, and shows what comes back. The page is served with a strict Content-Security-Policy, so
// everything here builds the DOM with textContent and classes: no inline scripts, no HTML strings.
// The editor (editor.js), the checking as you type (livecheck.js), the picture (labpicture.js), the
// previous credentials sheet (previoussheet.js) and what changes since it (labchanges.js), the wording of
// problems (problems.js) and the requests (api.js) are modules of their own; this one ties them to the page.

import { request } from './api.js';
import { Editor } from './editor.js';
import { renderChanges } from './labchanges.js';
import { renderLabPicture } from './labpicture.js';
import { LiveCheck } from './livecheck.js';
import { PreviousSheet } from './previoussheet.js';
import { SignInLinks } from './signinlinks.js';
import {
  describeProblem, endedElsewhereProblem, problemOf, renderIssues, renderSheetIssues, retryWhen,
} from './problems.js';
import { formatBytes, plural } from './words.js';

const API = '/api/usermapping';
const CREDENTIALS_API = '/api/usermapping/credentials';
const SIGN_IN_DOCUMENTS_API = '/api/usermapping/sign-in-documents';
// The examples the picker offers: copies of examples/*.yaml, with what the status line says of each.
const EXAMPLES = {
  classroom: 'one trainer, twelve students, five devices',
  pods: 'twenty students with a router, a switch and a PC each, and an instructor who reaches them all',
  'pods-desktops': 'twenty students with a desktop and a Kali machine each, and a trainer who reaches them all',
};
// Set while this tab shows a generated file, so that a reload can ask the server for it again.
const SHOWN_KEY = 'usermapper.shown';
// The editor's text, and the text that made the file shown, kept in this tab's own storage (never sent
// anywhere but the API) so that a reload or a crashed tab gives the trainer's work back.
const EDITOR_KEY = 'usermapper.editor';
const RESULT_CONFIG_KEY = 'usermapper.resultConfig';
const SAVE_DELAY_MS = 300;
// The problem of a previous credentials sheet the server cannot use: located in the sheet, not the config.
const SHEET_PROBLEM = 'invalid-credentials-sheet';
// Bigger files are still sent, but not shown: a multi-megabyte textarea makes the page crawl.
const EDITOR_MAX_BYTES = 2 * 1024 * 1024;
// The server keeps one file per browser; tabs tell each other when they generate or start over.
const tabs = 'BroadcastChannel' in window ? new BroadcastChannel('usermapper') : null;

const $ = (id) => document.getElementById(id);

const ui = {
  fileInput: $('file-input'),
  fileNote: $('file-note'),
  loadExample: $('load-example'),
  exampleChoice: $('example-choice'),
  editor: $('editor'),
  gutter: $('editor-gutter'),
  generate: $('generate'),
  configPanel: $('config-panel'),
  problem: $('problem'),
  problemTitle: $('problem-title'),
  problemDetail: $('problem-detail'),
  problemList: $('problem-list'),
  reference: $('reference'),
  result: $('result'),
  resultHeading: $('result-heading'),
  users: $('summary-users'),
  connections: $('summary-connections'),
  size: $('summary-size'),
  expires: $('summary-expires'),
  labPanel: $('lab-panel'),
  labCounts: $('lab-counts'),
  labOutdated: $('lab-outdated'),
  labPicture: $('lab-picture'),
  labFacts: $('lab-facts'),
  labChanges: $('lab-changes'),
  labChangesKept: $('lab-changes-kept'),
  labChangesList: $('lab-changes-list'),
  liveSummary: $('live-summary'),
  liveNote: $('live-note'),
  liveProblems: $('live-problems'),
  liveProblemsTitle: $('live-problems-title'),
  liveProblemsDetail: $('live-problems-detail'),
  liveProblemsList: $('live-problems-list'),
  liveWarnings: $('live-warnings'),
  liveWarningsTitle: $('live-warnings-title'),
  liveWarningsList: $('live-warnings-list'),
  warnings: $('warnings'),
  warningsTitle: $('warnings-title'),
  warningsList: $('warnings-list'),
  download: $('download'),
  downloadFormat: $('download-format'),
  importGroups: $('import-groups'),
  importGroupsList: $('import-groups-list'),
  downloadCredentials: $('download-credentials'),
  downloadCredentialsJson: $('download-credentials-json'),
  credentialsWarning: $('credentials-warning'),
  credentialsWarningText: $('credentials-warning-text'),
  startOver: $('start-over'),
  resultStale: $('result-stale'),
  resultProblem: $('result-problem'),
  resultProblemTitle: $('result-problem-title'),
  resultProblemDetail: $('result-problem-detail'),
  showCurrent: $('show-current'),
  credentials: $('credentials'),
  showPasswords: $('show-passwords'),
  copyCredentials: $('copy-credentials'),
  credentialsPanel: $('credentials-panel'),
  credentialsBody: $('credentials-body'),
  preview: $('preview'),
  previewNote: $('preview-note'),
  status: $('status'),
};

// The lab picture's note when the check could not draw the current text: the config's problems, or the sheet's.
const OUTDATED = {
  config: ui.labOutdated.textContent,
  sheet: 'While the credentials sheet has problems, this picture does not follow the config: fix the sheet, '
    + 'or remove it.',
};

const state = {
  // The file the config came from, as long as the editor still holds its unchanged text.
  file: null,
  result: null,
  // The editor's text when the shown file was made; null when not known (made in another tab, or sent
  // from a file too big to show), and then the file is never called out of date.
  resultConfig: null,
  credentials: null,
  expiryTimer: 0,
  saveTimer: 0,
  // What the last check said, in a few words: announced only when it changes, not on every keystroke.
  verdict: '',
  configProblemShown: false,
  healthTimer: 0,
  // What the page last said aloud of the passwords kept from the sheet.
  changesSaid: '',
};

const editor = new Editor({ textarea: ui.editor, gutter: ui.gutter, marks: $('editor-marks') });

// Held in memory only; a new or removed sheet is checked with the text at once.
const previousSheet = new PreviousSheet({
  ui: {
    input: $('sheet-input'),
    zone: $('sheet-drop'),
    chosen: $('sheet-chosen'),
    name: $('sheet-name'),
    remove: $('sheet-remove'),
    problem: $('sheet-problem'),
    problemTitle: $('sheet-problem-title'),
    problemDetail: $('sheet-problem-detail'),
    problemList: $('sheet-problem-list'),
  },
  changed: () => {
    hideChanges();
    liveCheck.run();
  },
  announce: (text) => announce(text),
});

/* ---------- announcements and notices ---------- */

function announce(message) {
  // Emptying first makes screen readers read the message even when it repeats the last one.
  ui.status.textContent = '';
  window.setTimeout(() => { ui.status.textContent = message; }, 50);
}

function showProblem(problem) {
  ui.problemTitle.textContent = problem.title;
  ui.problemDetail.textContent = problem.detail;
  ui.problemDetail.hidden = !problem.detail;
  if (problem.key === SHEET_PROBLEM) renderSheetIssues(ui.problemList, problem.errors || []);
  else renderIssues(ui.problemList, problem.errors || [], goToIssue);
  ui.problem.hidden = false;
  ui.problem.focus();
  announce(problem.title);
}

/** Generating found problems in the config: they show under Generate, in place of the list beside the editor
 * (until the next check), and are marked in the editor. Problems of the credentials sheet show there the
 * same way, in place of the list under the sheet, and mark nothing in the editor: the config was read first. */
function showConfigProblem(problem) {
  const inSheet = problem.key === SHEET_PROBLEM;
  ui.liveProblems.hidden = true;
  if (inSheet) previousSheet.hideProblem();
  editor.mark(inSheet ? [] : problem.errors || [], []);
  showProblem(problem);
  state.configProblemShown = true;
}

function hideProblem() {
  ui.problem.hidden = true;
  ui.problemList.replaceChildren();
}

function showResultProblem(problem, { moveFocus = true, offerCurrent = false } = {}) {
  ui.resultProblemTitle.textContent = problem.title;
  ui.resultProblemDetail.textContent = problem.detail;
  ui.showCurrent.hidden = !offerCurrent;
  ui.resultProblem.hidden = false;
  if (moveFocus) ui.resultProblem.focus();
  announce(problem.title);
}

/* ---------- editor ---------- */

/** Replaces the editor's text (a file, the example, the text kept from before a reload) and checks it. */
function setEditorText(text) {
  editor.setText(text);
  saveEditor();
  markStale();
  liveCheck.run();
}

async function goToIssue(issue) {
  // A config sent from a file may not be in the editor yet (too big to show): load it first.
  if (state.file && ui.editor.value === '') {
    setEditorText(await state.file.text());
  }
  editor.goToLine(issue.line, issue.column);
}

function onEditorInput() {
  // Once edited, the editor, not the file, is the config.
  if (state.file) forgetFile();
  editor.updateGutter();
  markStale();
  liveCheck.schedule();
  window.clearTimeout(state.saveTimer);
  state.saveTimer = window.setTimeout(saveEditor, SAVE_DELAY_MS);
}

/* ---------- keeping the trainer's text ---------- */

function stored(key) {
  try {
    return window.sessionStorage.getItem(key);
  } catch {
    return null; // storage refused (a private mode): nothing was kept
  }
}

function store(key, value) {
  try {
    if (value === null) window.sessionStorage.removeItem(key);
    else window.sessionStorage.setItem(key, value);
  } catch {
    // Refused, or over the quota for a very big config: the text is simply not kept.
  }
}

function saveEditor() {
  window.clearTimeout(state.saveTimer);
  store(EDITOR_KEY, ui.editor.value);
}

function restoreEditor() {
  const text = stored(EDITOR_KEY);
  if (text) setEditorText(text);
}

/** Says so when the editor no longer holds the config the shown file was made from. */
function markStale() {
  const stale = state.result !== null && state.resultConfig !== null && ui.editor.value !== state.resultConfig;
  ui.resultStale.hidden = !stale;
  ui.result.classList.toggle('is-stale', stale);
}

function rememberResultConfig(text) {
  state.resultConfig = text;
  store(RESULT_CONFIG_KEY, text);
}

function onEditorKeydown(event) {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    generate();
  }
}

/* ---------- the config's source: a file or the editor ---------- */

function isYamlFile(file) {
  return /\.ya?ml$/i.test(file.name);
}

async function useFile(file) {
  if (!isYamlFile(file)) {
    showProblem({
      title: `“${file.name}” is not a YAML file`,
      detail: 'Choose a file whose name ends in .yaml or .yml.',
    });
    return;
  }
  state.file = file;
  setEditorText(file.size <= EDITOR_MAX_BYTES ? await file.text() : '');
  ui.fileNote.textContent = `Loaded ${file.name} (${formatBytes(file.size)}). It is sent as it is, until you edit it here.`;
  ui.fileNote.hidden = false;
  await generate();
}

function forgetFile() {
  state.file = null;
  ui.fileNote.hidden = true;
  ui.fileInput.value = '';
}

/**
 * The config to send. A file is sent as its own bytes, so that the server, not the browser's text
 * decoding, judges its encoding and its line numbers match the file the trainer has.
 */
function configBlob() {
  if (state.file) return new Blob([state.file], { type: 'application/yaml' });
  if (ui.editor.value.trim() === '') return null;
  return new Blob([ui.editor.value], { type: 'application/yaml' });
}

/** What Generate and the check send: the config, and the previous credentials sheet if one is chosen. */
function uploadForm() {
  const blob = configBlob();
  if (!blob) return null;
  const form = new FormData();
  form.append('config', blob, 'lab.yaml');
  const sheet = previousSheet.chosen;
  if (sheet) form.append('credentials', sheet.blob, sheet.name);
  return form;
}

async function loadExample() {
  const hasOwnText = ui.editor.value.trim() !== '';
  if (hasOwnText && !window.confirm('Replace the text in the editor with the example lab?')) return;
  const example = ui.exampleChoice.value;
  const answer = await request(`/static/example-${example}.yaml`, { read: 'text' });
  if (!answer.ok) {
    showProblem(answer.problem);
    return;
  }
  forgetFile();
  hideProblem();
  setEditorText(answer.body);
  ui.editor.focus();
  // Focusing scrolls to the caret; keep the top of the example in view.
  ui.editor.scrollTop = 0;
  editor.syncScroll();
  announce(`Example lab loaded into the editor: ${EXAMPLES[example]}.`);
}

/* ---------- checking as the trainer types ---------- */

const liveCheck = new LiveCheck({ form: uploadForm, answered: showCheck });

/** Shows what the server said of the text in the editor: its problems, marked and listed, or its lab. */
function showCheck(answer) {
  if (ui.liveNote.dataset.reason === 'unreachable') hideNote();
  if (answer === null) {
    showVerdict('', [], []);
    ui.liveSummary.textContent = '';
    return;
  }
  if (!answer.ok && answer.problem.key === 'unreachable') {
    showNote('unreachable', 'The server cannot be reached, so the config is not being checked. Your text is '
      + 'kept in this tab; checking starts again when the connection is back.');
    return;
  }
  if (!answer.ok) { // refused before it was checked: a config too big to send, another origin
    showVerdict(answer.problem.title, [answer.problem], []);
    return;
  }
  const result = answer.body;
  if (!result.valid) {
    const problem = describeProblem(result.problem.status, result.problem);
    if (problem.key === SHEET_PROBLEM) showSheetVerdict(problem);
    else showVerdict(problem.title, [problem], problem.errors || []);
    return;
  }
  const warned = result.warnings.length ? `, ${plural(result.warnings.length, 'warning', 'warnings')}` : '';
  showVerdict(`No problems${warned}`, [], [], result.warnings);
  previousSheet.hideProblem();
  showLab(result);
  ui.liveSummary.textContent = `No problems: ${labCounts(result)}.`;
}

/**
 * Lists and marks the problems (`notices`, each {title, detail}, with `errors` located in the text) and
 * the warnings, and says the verdict aloud only when it changed: a screen reader hears "3 problems" once,
 * not after every pause in typing.
 */
function showVerdict(verdict, notices, errors, warnings = [], { sheet = false } = {}) {
  const [notice] = notices;
  if (state.configProblemShown) hideProblem(); // the list beside the editor says what is wrong now
  state.configProblemShown = false;
  ui.liveProblems.hidden = !notice || sheet;
  if (notice) {
    ui.liveProblemsTitle.textContent = notice.title;
    ui.liveProblemsDetail.textContent = notice.detail;
    ui.liveProblemsDetail.hidden = !notice.detail;
    renderIssues(ui.liveProblemsList, errors, goToIssue);
    ui.liveSummary.textContent = `${notice.title}.`;
  }
  ui.liveWarnings.hidden = warnings.length === 0;
  ui.liveWarningsTitle.textContent = plural(warnings.length, 'warning', 'warnings');
  renderIssues(ui.liveWarningsList, warnings, goToIssue);
  editor.mark(errors, warnings);
  const outdated = Boolean(notice) && !ui.labPanel.hidden;
  ui.labOutdated.hidden = !outdated;
  ui.labOutdated.textContent = sheet ? OUTDATED.sheet : OUTDATED.config;
  ui.labPanel.classList.toggle('is-outdated', outdated);
  // A first "no problems" (the example just loaded, a reload) is no news; problems, and their end, are.
  const news = verdict && verdict !== state.verdict && !(state.verdict === '' && notices.length === 0);
  if (news) announce(`${sheet ? 'Sheet' : 'Config'} checked: ${verdict}.`);
  state.verdict = verdict;
}

/**
 * The check read the config and could not use the credentials sheet: its problems show under the sheet,
 * each at its line and column in the sheet; the editor's text has nothing to mark, and what changes since
 * the sheet is not known.
 */
function showSheetVerdict(problem) {
  showVerdict(problem.title, [problem], [], [], { sheet: true });
  previousSheet.showProblem(problem);
  hideChanges();
}

/** A note beside the editor on why something waits: the server unreachable, or storage down. */
function showNote(reason, text) {
  ui.liveNote.dataset.reason = reason;
  ui.liveNote.textContent = text;
  ui.liveNote.hidden = false;
}

function hideNote() {
  ui.liveNote.dataset.reason = '';
  ui.liveNote.hidden = true;
}

function labCounts(data) {
  return `${plural(data.users, 'user', 'users')}, ${plural(data.connections, 'connection', 'connections')}, `
    + `${formatBytes(data.bytes)} of XML`;
}

/**
 * The picture of the lab and its counts, from a check of the editor's text or a generated file's summary;
 * beside it what changes since the previous sheet, while one is chosen.
 */
function showLab(data) {
  renderLabPicture(ui.labPicture, ui.labFacts, data.lab);
  ui.labCounts.textContent = labCounts(data);
  ui.labPanel.hidden = false;
  ui.labOutdated.hidden = true;
  ui.labPanel.classList.remove('is-outdated');
  showChanges(data.changes);
}

/** What the check or the generation says changes since the sheet; nothing without a sheet. */
function showChanges(changes) {
  const sheet = previousSheet.chosen;
  if (!sheet || !changes) {
    hideChanges();
    return;
  }
  renderChanges(ui.labChangesKept, ui.labChangesList, changes, sheet.name);
  ui.labChanges.hidden = false;
  ui.labPanel.classList.add('has-changes');
  // Said when it is news: a new sheet, or a change in who keeps what; not after every pause in typing.
  const said = ui.labChangesKept.textContent;
  if (said !== state.changesSaid) announce(said);
  state.changesSaid = said;
}

function hideChanges() {
  ui.labChanges.hidden = true;
  ui.labPanel.classList.remove('has-changes');
  ui.labChangesList.replaceChildren();
  ui.labChangesKept.textContent = '';
  state.changesSaid = '';
}

/** Storage is down: checking goes on (it needs no storage); generating waits, and the page says when. */
function waitForStorage(retryAfter) {
  showNote('storage', `Storage is unavailable, so generating has to wait; checking goes on. Try Generate again `
    + `${retryWhen(retryAfter)}.`);
  window.clearTimeout(state.healthTimer);
  const seconds = Number(retryAfter) || 5;
  state.healthTimer = window.setTimeout(probeStorage, Math.min(Math.max(seconds, 2), 60) * 1000);
}

async function probeStorage() {
  const answer = await request('/api/health', { read: 'nothing' });
  if (answer.ok) {
    hideNote();
    announce('Storage is back: Generate works again.');
  } else if (answer.problem.status) {
    waitForStorage(answer.problem.retryAfter);
  } else {
    state.healthTimer = window.setTimeout(probeStorage, 30000);
  }
}

/* ---------- generating ---------- */

/** While a request that changes the file is on its way, neither Generate nor Start over can start another. */
function setChanging(changing) {
  ui.generate.disabled = changing;
  ui.startOver.disabled = changing;
}

function setBusy(busy) {
  setChanging(busy);
  ui.generate.setAttribute('aria-busy', String(busy));
  ui.configPanel.setAttribute('aria-busy', String(busy));
  ui.generate.textContent = busy ? 'Generating…' : 'Generate user-mapping.xml';
  ui.generate.classList.toggle('is-busy', busy);
}

async function generate() {
  if (ui.generate.disabled) return;
  const form = uploadForm();
  if (!form) {
    showProblem({
      title: 'There is no config yet',
      detail: 'Choose a file, drop one on the page, write one in the editor, or load the example.',
    });
    return;
  }
  liveCheck.cancel(); // what Generate answers is the newest word on this text
  // What the file will be made from; unknown for a file too big to show in the editor.
  const sentText = state.file && ui.editor.value === '' ? null : ui.editor.value;
  setBusy(true);
  try {
    const answer = await request(API, { method: 'POST', body: form });
    if (answer.ok) {
      rememberResultConfig(sentText);
      showResult(answer.body);
      rememberShown(true);
      bringResultIntoView();
      tabs?.postMessage({ kind: 'generated', sha256: answer.body.sha256 });
      return;
    }
    const { problem } = answer;
    if (problem.key === 'storage-unavailable') waitForStorage(problem.retryAfter);
    if (problem.status === 400 || problem.status === 422) showConfigProblem(problem);
    else showProblem(problem);
  } finally {
    setBusy(false);
    markStale();
  }
}

/** On a phone the result starts below the editor: show its heading at the top and Download with it. */
function bringResultIntoView() {
  ui.resultHeading.scrollIntoView({ block: 'start', behavior: 'instant' });
  const overflow = ui.download.getBoundingClientRect().bottom - window.innerHeight;
  if (overflow > 0) window.scrollBy({ top: overflow + 16, behavior: 'instant' });
}

/* ---------- the result ---------- */

function formatTime(date) {
  const sameDay = date.toDateString() === new Date().toDateString();
  const options = sameDay
    ? { hour: 'numeric', minute: '2-digit', timeZoneName: 'short' }
    : { dateStyle: 'medium', timeStyle: 'short' };
  return date.toLocaleString(undefined, options);
}

function showResult(data) {
  state.result = data;
  state.credentials = null;
  hideProblem();
  ui.resultProblem.hidden = true;

  ui.users.textContent = data.users.toLocaleString();
  ui.connections.textContent = data.connections.toLocaleString();
  ui.size.textContent = formatBytes(data.bytes);
  const expires = new Date(data.expires);
  ui.expires.dateTime = expires.toISOString();
  ui.expires.textContent = formatTime(expires);

  if (data.lab) showLab(data);
  renderWarnings(data.warnings || []);
  renderLinks(data);
  renderPreview(data.preview || '', data.preview_truncated);
  resetCredentials(data.passwords || {});
  signInLinks.reset();
  scheduleExpiry(expires);

  ui.result.hidden = false;
  markStale();
  ui.resultHeading.focus({ preventScroll: true });
  const warned = data.warnings?.length ? `, ${plural(data.warnings.length, 'warning', 'warnings')}` : '';
  const kept = previousSheet.chosen && data.changes ? ` ${ui.labChangesKept.textContent}` : '';
  announce(`Generated: ${plural(data.users, 'user', 'users')}, ${plural(data.connections, 'connection', 'connections')}${warned}. Available until ${formatTime(expires)}.${kept}`);
}

function renderWarnings(warnings) {
  ui.warnings.hidden = warnings.length === 0;
  ui.warningsTitle.textContent = plural(warnings.length, 'warning', 'warnings');
  renderIssues(ui.warningsList, warnings, goToIssue);
}

// The files one generated lab gives, by format: the XML, Guacamole 1.6's import, the password scripts.
const FORMAT_FILES = {
  'user-mapping': 'user-mapping.xml',
  'import-json': 'guacamole-import.json',
  'import-yaml': 'guacamole-import.yaml',
  'import-csv': 'guacamole-import.csv',
  'passwords-postgresql': 'passwords-postgresql.sql',
  'passwords-mysql': 'passwords-mysql.sql',
};

// Each link names the file this page shows, so that it can never fetch another tab's newer file.
function renderLinks(data) {
  const links = data.links || {};
  const named = `?sha256=${encodeURIComponent(data.sha256)}`;
  renderDownload(data);
  enableLink(ui.downloadCredentials, (links.credentials || CREDENTIALS_API) + named);
  enableLink(ui.downloadCredentialsJson, `${links.credentials || CREDENTIALS_API}${named}&format=json`);
  ui.downloadCredentials.hidden = !(data.passwords?.generated || data.passwords?.hashed);
}

/** The Download button fetches the chosen format of the shown file; the groups to create go beside it. */
function renderDownload(data) {
  const format = ui.downloadFormat.value;
  const file = FORMAT_FILES[format];
  const query = format === 'user-mapping' ? '?' : `?format=${encodeURIComponent(format)}&`;
  enableLink(ui.download, `${data.links?.download || API}${query}sha256=${encodeURIComponent(data.sha256)}`);
  ui.download.download = file;
  ui.download.textContent = `Download ${file}`;
  const groups = data.import?.groups || [];
  ui.importGroups.hidden = !format.startsWith('import-') || groups.length === 0;
  // Each group its own code element: a name holding ", " still reads as one name.
  ui.importGroupsList.replaceChildren(...groups.flatMap((group, index) => [
    ...(index ? [', '] : []), Object.assign(document.createElement('code'), { textContent: group }),
  ]));
}

function enableLink(link, href) {
  link.href = href;
  link.removeAttribute('aria-disabled');
}

function disableLink(link) {
  // Without an href an anchor is neither clickable nor focusable.
  link.removeAttribute('href');
  link.setAttribute('aria-disabled', 'true');
}

function renderPreview(xml, truncated) {
  const lines = xml.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const spans = lines.map((text) => {
    const line = document.createElement('span');
    line.className = 'line';
    line.textContent = text;
    return line;
  });
  ui.preview.replaceChildren(...spans);
  ui.previewNote.hidden = !truncated;
}

/** The server forgets the file at its expiry time; make the page say so instead of offering dead links. */
function scheduleExpiry(expires) {
  window.clearTimeout(state.expiryTimer);
  const delay = Math.max(0, expires.getTime() - Date.now());
  // setTimeout overflows past about 24.8 days; no session lives that long, but do not fire at once.
  // The timer must not take focus: the trainer may be typing in the editor when it fires.
  const expire = () => markExpired({ moveFocus: false });
  state.expiryTimer = window.setTimeout(expire, Math.min(delay, 2 ** 31 - 1));
}

function isExpired() {
  return state.result !== null && Date.now() >= new Date(state.result.expires).getTime();
}

function markExpired({ moveFocus }) {
  markGone(problemOf('no-file-for-this-session'), { moveFocus });
}

function markGone(problem, { moveFocus }) {
  rememberShown(false);
  disableLink(ui.download);
  disableLink(ui.downloadCredentials);
  disableLink(ui.downloadCredentialsJson);
  ui.showPasswords.disabled = true;
  ui.copyCredentials.disabled = true;
  signInLinks.disable();
  showResultProblem(problem, { moveFocus });
}

function shownFile() {
  return { 'If-Match': `"${state.result.sha256}"` };
}

/** What went wrong in fetching the shown file: gone, it is marked so; replaced, the current one is offered. */
function showFileProblem(problem) {
  if (problem.key === 'no-file-for-this-session') markExpired({ moveFocus: true });
  else showResultProblem(problem, { offerCurrent: problem.key === 'the-file-was-replaced' });
}

/** Downloads by fetch, so that a replaced or expired file is a sentence, not a failed browser download. */
async function onDownloadClick(event) {
  event.preventDefault();
  if (isExpired()) {
    markExpired({ moveFocus: true });
    return;
  }
  const link = event.currentTarget;
  const name = link.download;
  const answer = await request(link.href, { read: 'blob', headers: shownFile() });
  if (answer.ok) saveBlob(answer.body, name);
  else showFileProblem(answer.problem);
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const anchor = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function showCurrentFile() {
  rememberResultConfig(null); // made in another tab, from a config this one may not hold
  if (!(await restoreResult({ always: true }))) markExpired({ moveFocus: true });
}

/** Another tab generated a file or started over: this tab's file is not the server's any more. */
function onOtherTab(event) {
  if (state.result === null) return;
  if (event.data?.kind === 'generated' && event.data.sha256 !== state.result.sha256) {
    showResultProblem(problemOf('the-file-was-replaced'), { moveFocus: false, offerCurrent: true });
  } else if (event.data?.kind === 'ended') {
    markGone(endedElsewhereProblem(), { moveFocus: false });
  }
}

/* ---------- passwords ---------- */

function resetCredentials(passwords) {
  ui.credentials.hidden = !(passwords.generated || passwords.hashed);
  // A cell a spreadsheet would run as a formula is written exactly; the summary says which to open as text.
  ui.credentialsWarning.hidden = !passwords.spreadsheet_warning;
  ui.credentialsWarningText.textContent = passwords.spreadsheet_warning
    ? `${passwords.spreadsheet_warning[0].toUpperCase()}${passwords.spreadsheet_warning.slice(1)}.` : '';
  ui.credentialsPanel.hidden = true;
  ui.credentialsBody.replaceChildren();
  ui.showPasswords.disabled = false;
  ui.showPasswords.textContent = 'Show passwords';
  ui.showPasswords.setAttribute('aria-expanded', 'false');
  ui.copyCredentials.hidden = true;
  ui.copyCredentials.disabled = false;
}

async function fetchCredentials() {
  const answer = await request(CREDENTIALS_API, { headers: shownFile() });
  if (answer.ok) return answer.body.credentials || [];
  showFileProblem(answer.problem);
  return null;
}

async function togglePasswords() {
  if (!ui.credentialsPanel.hidden) {
    setPasswordsShown(false);
    return;
  }
  if (!state.credentials) {
    ui.showPasswords.disabled = true;
    state.credentials = await fetchCredentials();
    ui.showPasswords.disabled = false;
    if (!state.credentials) return;
    renderCredentials(state.credentials);
  }
  setPasswordsShown(true);
  announce(`Showing ${plural(state.credentials.length, 'password', 'passwords')}.`);
}

function setPasswordsShown(shown) {
  ui.credentialsPanel.hidden = !shown;
  ui.copyCredentials.hidden = !shown;
  ui.showPasswords.textContent = shown ? 'Hide passwords' : 'Show passwords';
  ui.showPasswords.setAttribute('aria-expanded', String(shown));
}

function renderCredentials(credentials) {
  const rows = credentials.map((entry) => {
    const row = document.createElement('tr');
    for (const [value, isCode] of [[entry.type, false], [entry.username, false], [entry.password, true]]) {
      const cell = document.createElement('td');
      if (isCode) {
        const code = document.createElement('code');
        code.textContent = value;
        cell.append(code);
      } else {
        cell.textContent = value;
      }
      row.append(cell);
    }
    return row;
  });
  ui.credentialsBody.replaceChildren(...rows);
}

function credentialsAsText(credentials) {
  const rows = [['Type', 'Username', 'Password'], ...credentials.map((c) => [c.type, c.username, c.password])];
  // A tab or newline inside a value would break the columns; Guacamole values rarely hold them.
  return rows.map((row) => row.map((value) => String(value).replace(/[\t\r\n]/g, ' ')).join('\t')).join('\n') + '\n';
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return copyTextWithSelection(text);
  }
}

/** For browsers or pages without the async clipboard (plain http on another host, older browsers). */
function copyTextWithSelection(text) {
  const scratch = document.createElement('textarea');
  scratch.value = text;
  scratch.className = 'offscreen';
  scratch.setAttribute('readonly', '');
  document.body.append(scratch);
  scratch.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  scratch.remove();
  ui.copyCredentials.focus();
  return copied;
}

async function copyCredentials() {
  const copied = await copyText(credentialsAsText(state.credentials || []));
  announce(copied
    ? `Copied ${plural(state.credentials.length, 'row', 'rows')}, separated by tabs.`
    : 'Copying did not work here. Select the table and copy it by hand.');
  ui.copyCredentials.textContent = copied ? 'Copied' : 'Copy as text';
  window.setTimeout(() => { ui.copyCredentials.textContent = 'Copy as text'; }, 2000);
}

/* ---------- sign-in links ---------- */

const signInLinks = new SignInLinks({
  fetchDocuments: () => request(state.result.links?.sign_in_documents || SIGN_IN_DOCUMENTS_API,
    { headers: shownFile() }),
  fileProblem: showFileProblem,
  goToIssue,
  announce,
});

/* ---------- starting over ---------- */

async function startOver() {
  if (ui.startOver.disabled) return;
  setChanging(true);
  const answer = await request(API, { method: 'DELETE', read: 'nothing' });
  setChanging(false);
  // 404: the file is already gone, which is what the trainer asked for.
  if (!answer.ok && answer.problem.status !== 404) {
    showResultProblem(answer.problem);
    return;
  }
  clearPage();
  tabs?.postMessage({ kind: 'ended' });
  // The sheet was for that generation: the next one starts without it, unless it is chosen again.
  const hadSheet = previousSheet.clear();
  if (hadSheet) {
    hideChanges();
    liveCheck.run();
  }
  ui.editor.focus();
  announce('Started over. The generated file was deleted from the server; your config is still in the editor.'
    + `${hadSheet ? ' The previous credentials sheet is forgotten.' : ''}`);
}

function clearPage() {
  rememberShown(false);
  window.clearTimeout(state.expiryTimer);
  state.result = null;
  rememberResultConfig(null);
  state.credentials = null;
  hideProblem();
  ui.result.hidden = true;
  ui.resultProblem.hidden = true;
  ui.preview.replaceChildren();
  ui.credentialsBody.replaceChildren();
  signInLinks.clear();
}

/* ---------- after a reload ---------- */

function rememberShown(shown) {
  try {
    if (shown) window.sessionStorage.setItem(SHOWN_KEY, '1');
    else window.sessionStorage.removeItem(SHOWN_KEY);
  } catch {
    // Storage refused (a private mode): a reload then starts empty, as a first visit does.
  }
}

function remembersShown() {
  try {
    return window.sessionStorage.getItem(SHOWN_KEY) === '1';
  } catch {
    return false;
  }
}

// Only a tab that showed a file asks for it again, so a first visit never provokes a 404.
async function restoreResult({ always = false } = {}) {
  if (!always && !remembersShown()) return false;
  const answer = await request(API);
  if (answer.ok) {
    showResult(answer.body);
    rememberShown(true);
    return true;
  }
  // Unreachable now (no status): the page starts empty; generating again will say what is wrong.
  if (answer.problem.status) rememberShown(false);
  return false;
}

/* ---------- drag and drop ---------- */

function carriesFiles(event) {
  return Array.from(event.dataTransfer?.types || []).includes('Files');
}

function onDragOver(event) {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = 'copy';
  document.body.classList.add('is-dragging');
}

function onDragLeave(event) {
  // relatedTarget is null only when the pointer leaves the window, not when it moves between elements.
  if (event.relatedTarget === null) document.body.classList.remove('is-dragging');
}

function onDrop(event) {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  document.body.classList.remove('is-dragging');
  const [file] = event.dataTransfer.files;
  if (file) useFile(file);
}

/* ---------- wiring ---------- */

function start() {
  ui.fileInput.addEventListener('change', () => {
    const [file] = ui.fileInput.files;
    if (file) useFile(file);
  });
  ui.loadExample.addEventListener('click', loadExample);
  ui.editor.addEventListener('input', onEditorInput);
  ui.editor.addEventListener('keydown', onEditorKeydown);
  ui.generate.addEventListener('click', generate);
  ui.download.addEventListener('click', onDownloadClick);
  ui.downloadFormat.addEventListener('change', () => {
    if (state.result !== null && !ui.download.hasAttribute('aria-disabled')) renderDownload(state.result);
  });
  ui.downloadCredentials.addEventListener('click', onDownloadClick);
  ui.downloadCredentialsJson.addEventListener('click', onDownloadClick);
  ui.startOver.addEventListener('click', startOver);
  ui.showCurrent.addEventListener('click', showCurrentFile);
  tabs?.addEventListener('message', onOtherTab);
  ui.showPasswords.addEventListener('click', togglePasswords);
  ui.copyCredentials.addEventListener('click', copyCredentials);
  document.addEventListener('dragover', onDragOver);
  document.addEventListener('dragleave', onDragLeave);
  document.addEventListener('drop', onDrop);
  // On a narrow screen the reference would push the editor out of sight; start it closed there.
  if (window.matchMedia('(max-width: 60rem)').matches) ui.reference.open = false;
  restoreEditor();
  state.resultConfig = stored(RESULT_CONFIG_KEY);
  window.addEventListener('pagehide', saveEditor);
  editor.updateGutter();
  window.addEventListener('online', () => liveCheck.run());
  restoreResult();
}

start();
