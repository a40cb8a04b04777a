/** DMARC records, alignment and the organisational domain live in src/mail/dmarc.ts, shared with the emulator. */
export * from '../mail/dmarc.js';
