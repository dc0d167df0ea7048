// How long a scenario may take, in model seconds, from the model and the product's own
// constants alone (never from what the run did): the checks in test/simulation.test.ts and the
// figures in the notes are held against these.
import { DEFAULTS } from '../../builder/config/defaults.js';
import { GATHER_WINDOW_MS } from '../../firstboot/join/join-desk.js';
import { SNAP_ORDER } from '../../firstboot/steps/install-snaps.js';
import { BATCH_POLL_MS } from '../../firstboot/steps/join-formed.js';
import { jittered, peerPollMs } from '../../firstboot/steps/poll.js';
import type { Model } from './modelled-runner.js';

/** Founders of every growing scenario, and the time over which its newcomers are powered on (grow-burst and the failures). */
export const FOUNDERS = 3;
export const NEWCOMER_SPREAD_S = 120;
/** The hand-offs between steps (wait-peers, asking, a batch poll, verify's 10 s poll), each a poll interval of 5-15 s: two minutes in all. */
export const POLLING_SLACK_S = 120;
/** After a failed batch: a pause before asking again, a member that does not answer (3 s), and the next one. */
const ASKING_AGAIN_S = 60;

const snapsS = (model: Model) => SNAP_ORDER.length * model.snapInstallS;
const addS = (model: Model, systems: number) => model.addBaseS + model.addPerSystemS * systems;
/** The longest a node waits between two polls of its batch: a jittered interval at its longest. */
const batchPollS = (nodes: number) => jittered(peerPollMs(nodes - 1, BATCH_POLL_MS), () => 1) / 1000;

/**
 * All newcomers powered on within NEWCOMER_SPREAD_S and added with no failure: the founders' snaps
 * and formation, the spread, the newcomers' snaps, one gathering window, then at most two add
 * sessions (the first takes who asked within the window, the second everyone who asked while it
 * ran) adding each newcomer once, and the polling slack.
 */
export function growBoundS(model: Model, nodes: number): number {
  return snapsS(model) + model.formationS + NEWCOMER_SPREAD_S + snapsS(model) + GATHER_WINDOW_MS / 1000
    + 2 * model.addBaseS + model.addPerSystemS * (nodes - FOUNDERS) + POLLING_SLACK_S;
}

/**
 * What one failed add session may add to growBoundS: detecting the failure (at most MicroCloud's
 * lookup_timeout, the sim's default 600 s, for a machine that never reached out: a dead member is
 * noticed sooner, after three unanswered polls, and a joiner that died after reaching out fails
 * its add at the end, which growBoundS counts), the batch's nodes hearing of it (one batch poll),
 * asking again, the next batch's gathering window, and one more add session of at most everyone
 * but the dead node.
 */
export function failureCostS(model: Model, nodes: number): number {
  return DEFAULTS.lookupTimeoutSeconds + batchPollS(nodes) + ASKING_AGAIN_S + GATHER_WINDOW_MS / 1000
    + addS(model, nodes - FOUNDERS - 1);
}

/** Add sessions with no failure (growBoundS's two), and with one failed session: it, and at most two more for its nodes and the rest. */
export const HEALTHY_SESSIONS = 2;
export const SESSIONS_WITH_ONE_FAILURE = HEALTHY_SESSIONS + 2;
