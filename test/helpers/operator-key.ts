// A fixed operator key and issue time for rendered output that must not change between runs
// (Ed25519 signs deterministically: the same key, fields and time give the same ticket).
import { asSecret } from '../../builder/config/types.js';
import type { TicketIssue } from '../../builder/render/node-config.js';

// PKCS8 of an Ed25519 key whose 32-byte seed is 0x00..0x1f: the DER header, then the seed.
const SEED = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
export const TEST_OPERATOR_KEY = asSecret(Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), SEED]).toString('base64'));

/** 2026-11-01T09:00:00Z. */
export const TEST_ISSUED_MS = Date.UTC(2026, 10, 1, 9, 0, 0);

export const TEST_TICKET: TicketIssue = { operatorKey: TEST_OPERATOR_KEY, issuedMs: TEST_ISSUED_MS };
