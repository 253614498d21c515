/** Domain errors. Their `name` becomes the Lambda `errorType` a caller, a retry log or a DLQ record shows. */

/** The event does not have the shape this function handles. Retrying cannot help. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

/** A 0-byte object that is not a folder marker: nothing to process, so it is refused. */
export class EmptyObjectError extends Error {
  override name = 'EmptyObjectError';
}

/** The object named by the notification is gone (deleted before it was read). */
export class ObjectNotFoundError extends Error {
  override name = 'ObjectNotFoundError';
}

/** S3 could not be reached at all (offline: the local S3 of `npm start` is not running). */
export class S3UnreachableError extends Error {
  override name = 'S3UnreachableError';
}

/** A required environment variable is missing or malformed. Thrown at cold start. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

/** Narrows an unknown thrown value to an Error. */
export function isError(value: unknown): value is Error {
  return value instanceof Error;
}

/** Narrows an unknown thrown value to a Node.js system error (ECONNREFUSED, ENOENT, …). */
export function isSystemError(value: unknown): value is NodeJS.ErrnoException & { code: string } {
  return isError(value) && typeof (value as NodeJS.ErrnoException).code === 'string';
}
