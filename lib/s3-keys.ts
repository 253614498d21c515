import { InvalidEventError } from './errors';

/**
 * S3 notifications carry object keys form-URL-encoded: a space arrives as `+`, a `+` as `%2B`, non-ASCII as
 * UTF-8 percent escapes. Decoding is therefore `+` → space first, then percent-decoding.
 */
export function decodeS3Key(encodedKey: string): string {
  try {
    return decodeURIComponent(encodedKey.replace(/\+/g, ' '));
  } catch {
    throw new InvalidEventError(`S3 object key "${encodedKey}" is not valid URL encoding.`);
  }
}

/**
 * The inverse, as S3 writes keys into notifications: unreserved characters and `/` stay, a space becomes `+`,
 * every other byte is percent-encoded (upper-case hex).
 */
export function encodeS3Key(key: string): string {
  return encodeURIComponent(key)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/')
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A key ending in `/` is what the S3 console creates for "Create folder": a 0-byte marker, not data. */
export function isFolderMarker(key: string): boolean {
  return key.endsWith('/');
}
