/** Largest request body any route accepts; larger ones get 413. */
export const BODY_LIMIT = '100kb';
export const BODY_LIMIT_BYTES = 100 * 1024;
