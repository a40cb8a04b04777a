/** The Received field reader lives in src/mail/received.ts, shared with the emulator's skip listing. */
export * from '../mail/received.js';
