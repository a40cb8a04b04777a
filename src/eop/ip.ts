/**
 * IP addresses and address lists: the parsing lives in src/mail/ip.ts, shared with the header and DNS readers.
 */
export * from '../mail/ip.js';
