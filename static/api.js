// Every request the page makes goes through `request`: it sends with this site's cookie, reads the answer,
// and turns every way of failing (the server unreachable, a problem document or any other refusal, an
// answer the page cannot read) into the same kind of notice, worded by problems.js.

import { describeProblem, networkProblem, unreadableAnswer } from './problems.js';

const READERS = {
  json: (response) => response.json(),
  text: (response) => response.text(),
  blob: (response) => response.blob(),
  nothing: () => null,
};

/**
 * Sends one request. `read` says what a successful answer holds: 'json' (asked for with Accept), 'text',
 * 'blob' or 'nothing'. Resolves to {ok: true, body} or {ok: false, problem}, the problem being
 * {key, status, title, detail, errors, retryAfter}, with status 0 when no answer came. A request aborted
 * through `signal` rejects with its AbortError: nobody is waiting for its answer.
 */
export async function request(url, { method = 'GET', read = 'json', body, headers = {}, signal } = {}) {
  const accept = read === 'json' ? { Accept: 'application/json' } : {};
  let response;
  try {
    response = await fetch(url, {
      method, body, signal, credentials: 'same-origin', headers: { ...accept, ...headers },
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    return { ok: false, problem: networkProblem() };
  }
  if (!response.ok) {
    const problem = await readJson(response);
    return { ok: false, problem: describeProblem(response.status, problem, response.headers.get('Retry-After')) };
  }
  try {
    return { ok: true, body: await READERS[read](response) };
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    return { ok: false, problem: unreadableAnswer(response.status) };
  }
}

async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}
