// Sign-in links made in the browser with WebCrypto, the same bytes as `usermapper --format sign-in-links`
// (usermapper/outputs/signin_links.py). The key is used here and goes nowhere: nothing in this module sends,
// stores or logs it.
//
// A user's document comes in two parts from the command line's own code (`document_parts`): `head` ends
// with "expires":, `tail` begins with ,"connections":. Between them go the expiry in milliseconds and, for
// a single-use link, ,"singleUse":true. The document, as UTF-8, is signed with HMAC-SHA256 under the
// 16-byte key; signature and document are encrypted with AES-128-CBC under the same key with a zero IV
// (WebCrypto pads with PKCS#7, as Guacamole's AES/CBC/PKCS5Padding expects), then base64, percent-encoded
// into the fragment of Guacamole's address: <url>/#/?data=...

const KEY_DIGITS = /^[0-9a-fA-F]{32}$/;
const ZERO_IV = new Uint8Array(16);

/** The 16 key bytes from 32 hex digits (white space around them ignored); throws without naming the key. */
export function keyBytes(text) {
  const digits = text.trim();
  if (!KEY_DIGITS.test(digits)) throw new Error('The key must be 32 hex digits, as `openssl rand -hex 16` writes.');
  return Uint8Array.from(digits.match(/../g), (pair) => parseInt(pair, 16));
}

/** What goes between a document's head and tail. */
export function expiryPart(expires, singleUse) {
  if (!Number.isSafeInteger(expires)) throw new Error('The expiry must be a whole number of milliseconds.');
  return String(expires) + (singleUse ? ',"singleUse":true' : '');
}

/** The `data` parameter of one document: signed, encrypted, base64. */
export async function seal(key, documentText) {
  const data = new TextEncoder().encode(documentText);
  const hmacKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const signature = new Uint8Array(await crypto.subtle.sign('HMAC', hmacKey, data));
  const signed = new Uint8Array(signature.length + data.length);
  signed.set(signature);
  signed.set(data, signature.length);
  const aesKey = await crypto.subtle.importKey('raw', key, { name: 'AES-CBC' }, false, ['encrypt']);
  const encrypted = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CBC', iv: ZERO_IV }, aesKey, signed));
  let binary = '';
  for (let at = 0; at < encrypted.length; at += 0x8000) {
    binary += String.fromCharCode(...encrypted.subarray(at, at + 0x8000));
  }
  return btoa(binary);
}

/** One user's link: `baseUrl` is Guacamole's address, a trailing slash or not. */
export async function signInLink(baseUrl, key, head, tail, expires, singleUse = false) {
  const sealed = await seal(key, head + expiryPart(expires, singleUse) + tail);
  return `${baseUrl.replace(/\/+$/, '')}/#/?data=${encodeURIComponent(sealed)}`;
}
