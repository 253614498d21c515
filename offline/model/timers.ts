/** setTimeout fires at once past this (about 24.8 days): longer waits are taken in steps. */
export const LONGEST_TIMER_MS = 2 ** 31 - 1;
