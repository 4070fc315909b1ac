// What changes since a previous credentials sheet, drawn from the API's `changes` (usermapper/previous/
// changes.py): how many users keep their password, then per user type the users added, removed and kept, in
// the command line's words; where the API knows each user's connections, the connections added (+), removed
// (-) or changed (~) under their type. The API's lists are already bounded (a few names, then "and 9 more";
// at most so many changes, then a count), so nothing here grows with the lab.

import { plural } from './words.js';

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A list the API bounded, {first, count}: "student13, student14 and 3 more". */
function named({ first, count }) {
  const rest = count - first.length;
  return rest > 0 ? `${first.join(', ')} and ${rest.toLocaleString()} more` : first.join(', ');
}

/** The command line's `counted`: "1 more user", "3 more users". */
function counted(count, noun) {
  return `${count.toLocaleString()} ${noun}${count === 1 ? '' : 's'}`;
}

/** One user type's line, and the lines of its kept users' changes, as `TypeChanges.lines` words them. */
function typeLines(type, connectionsKnown) {
  if (type.name === null) {
    return [`no longer in the lab: ${counted(type.removed.count, 'user')} (${named(type.removed)})`, []];
  }
  const counts = [
    type.added.count ? `${type.added.count.toLocaleString()} added (${named(type.added)})` : '',
    type.removed.count ? `${type.removed.count.toLocaleString()} removed (${named(type.removed)})` : '',
    type.kept ? `${type.kept.toLocaleString()} kept` : '',
  ].filter(Boolean);
  const same = connectionsKnown && type.kept > 0 && type.unchanged === type.kept;
  const line = `${type.name}: ${counts.join(', ')}${same ? ', connections unchanged' : ''}`;
  if (!connectionsKnown || same) return [line, []];
  const who = (users) => (users.count === type.kept && type.kept > 1 ? `all ${users.count.toLocaleString()}` : named(users));
  const details = type.changes.map(({ users, change }) => `${who(users)}: ${change}`);
  if (type.other_changes) details.push(`and ${counted(type.other_changes, 'more user')} with other changes`);
  if (type.unchanged) details.push(`${type.unchanged.toLocaleString()} other${type.unchanged > 1 ? 's' : ''} unchanged`);
  return [line, details];
}

/** "11 users keep their password from credentials.csv; 3 users get a new one: student13, …". */
export function keptSentence(changes, sheetName) {
  const kept = `${plural(changes.passwords_kept, 'user keeps', 'users keep')} their password from ${sheetName}`;
  const fresh = changes.passwords_new;
  if (!fresh.count) return `${kept}; nobody gets a new one.`;
  return `${kept}; ${plural(fresh.count, 'user gets', 'users get')} a new one: ${named(fresh)}.`;
}

/**
 * Draws `changes` into `kept` (the sentence on passwords) and `list` (a line per user type, its changes
 * nested under it), replacing what was there.
 */
export function renderChanges(kept, list, changes, sheetName) {
  kept.textContent = keptSentence(changes, sheetName);
  const items = changes.user_types.map((type) => {
    const [line, details] = typeLines(type, changes.connections_known);
    const item = element('li');
    item.append(element('span', 'change-line', line));
    if (details.length) {
      const nested = element('ul', 'change-details');
      nested.append(...details.map((detail) => element('li', '', detail)));
      item.append(nested);
    }
    return item;
  });
  if (changes.more_user_types) {
    const more = element('li', 'more');
    more.append(element('span', 'change-line', `and ${counted(changes.more_user_types, 'more user type')}`));
    items.push(more);
  }
  list.replaceChildren(...items);
}
