// The picture of a lab, drawn with HTML and CSS from the API's `lab` summary (usermapper/summary.py):
// user types on the left with what each reaches, the shared devices and the pods on the right, one block
// per owner for the first few. The summary's lists are already short; nothing here grows with the lab.
// The drawing is one image to assistive technology; the same facts as text (what `usermapper --check`
// prints) sit below it, and the image points to them.

import { plural } from './words.js';

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A device type a user type reaches; for a pod type, whose pods: the user's own, or every owner's. */
function reachChip(name, userType) {
  if (!userType.reaches_pods.includes(name)) return element('li', 'chip shared', name);
  const whose = userType.all_pods ? 'every pod' : 'own';
  const chip = element('li', 'chip pod', name);
  chip.append(element('span', 'chip-note', ` (${whose})`));
  return chip;
}

function userCard(userType) {
  const card = element('li', 'lab-card');
  card.append(element('p', 'lab-card-name', userType.name));
  card.append(element('p', 'lab-card-count', `${plural(userType.users, 'user', 'users')}: ${userType.usernames}`));
  card.append(element('p', 'lab-card-note', `${plural(userType.connections_per_user, 'connection', 'connections')} each`));
  const reaches = element('ul', 'chips');
  reaches.append(...userType.reaches.map((name) => reachChip(name, userType)));
  if (userType.more_reached) reaches.append(element('li', 'chip more', `+${userType.more_reached.toLocaleString()} more`));
  if (userType.reaches.length === 0) reaches.append(element('li', 'chip more', 'nothing'));
  card.append(reaches);
  return card;
}

function deviceCard(device) {
  const card = element('li', 'lab-card');
  card.append(element('p', 'lab-card-name', device.name));
  card.append(element('p', 'lab-card-count', `${plural(device.quantity, 'device', 'devices')}, ${device.protocol}`));
  return card;
}

function podBlock(pod) {
  const block = element('li', 'pod-block');
  block.append(element('p', 'pod-owner', `pod ${pod.pod}: ${pod.username}`));
  const devices = element('ul', 'pod-devices');
  for (const device of pod.devices) {
    const row = element('li', '', device.name);
    if (device.hostname) row.append(element('span', 'pod-host', ` ${device.hostname}`));
    devices.append(row);
  }
  if (pod.more_devices) devices.append(element('li', 'pod-more', `+${pod.more_devices.toLocaleString()} more`));
  block.append(devices);
  return block;
}

function moreItem(className, text) {
  return element('li', `${className} more`, text);
}

function column(title, className) {
  const node = element('div', `lab-column ${className}`);
  node.append(element('p', 'lab-column-title', title));
  return node;
}

function usersColumn(lab) {
  const node = column('Users', 'lab-users');
  const list = element('ul', 'lab-cards');
  list.append(...lab.user_types.map(userCard));
  if (lab.more_user_types) list.append(moreItem('lab-card', `and ${plural(lab.more_user_types, 'more user type', 'more user types')}`));
  node.append(list);
  return node;
}

function sharedColumn(lab) {
  const shared = lab.device_types.filter((d) => !d.per_user);
  if (shared.length === 0) return null;
  const node = column('Shared devices', 'lab-shared');
  const list = element('ul', 'lab-cards');
  list.append(...shared.map(deviceCard));
  if (lab.more_device_types) list.append(moreItem('lab-card', `and ${plural(lab.more_device_types, 'more device type', 'more device types')}`));
  node.append(list);
  return node;
}

function podsColumn(lab) {
  const { pods } = lab;
  if (pods.owners === 0) return null;
  const node = column(`Pods: ${plural(pods.owners, 'owner', 'owners')}, each with devices of their own`, 'lab-pods');
  const list = element('ul', 'pod-blocks');
  list.append(...pods.shown.map(podBlock));
  if (pods.more) list.append(moreItem('pod-block', `and ${plural(pods.more, 'more pod', 'more pods')}`));
  node.append(list);
  return node;
}

/** Draws `lab` into `picture` (its drawing) and `facts` (its text), replacing what was there. */
export function renderLabPicture(picture, facts, lab) {
  const devices = element('div', 'lab-devices');
  devices.append(...[sharedColumn(lab), podsColumn(lab)].filter(Boolean));
  picture.replaceChildren(usersColumn(lab), devices);
  picture.setAttribute('aria-label', `Picture of the lab: ${lab.facts[0]}. The lab as text, below, says what it shows.`);
  facts.replaceChildren(...lab.facts.map((fact) => element('li', '', fact)));
}
