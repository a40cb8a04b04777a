/** Header line ends and unfolding: the one rule lives in src/mail/lines.ts, shared with the emulator. */
export * from '../mail/lines.js';
