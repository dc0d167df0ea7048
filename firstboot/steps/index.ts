// The steps, in the order they run. An explicit list: no registration by import side effect.
import type { Step } from '../run/types.js';
import { finish } from './finish.js';
import { installSnaps } from './install-snaps.js';
import { preflight } from './preflight.js';
import { preseed } from './preseed.js';
import { verify } from './verify.js';
import { waitPeers } from './wait-peers.js';
import { waitReady } from './wait-ready.js';
import { scrubSecretStep } from './scrub-secret.js';

export const STEPS: readonly Step[] = [waitReady, scrubSecretStep, installSnaps, preflight, waitPeers, preseed, verify, finish];
