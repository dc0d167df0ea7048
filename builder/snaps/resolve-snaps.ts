// Which snaps a cluster needs, as the store answers: the four at the cluster's channels, snapd,
// and every base the answers name, asked for in turn until no answer names a new one. No list of
// bases is written down anywhere: the store's answers are the list.
import type { SnapChannels } from '../config/types.js';
import { baseNeeded, type StoreRefusal, type StoreSnap, type Wanted } from './store-api.js';
import type { SnapStore } from './store-client.js';

/** snapd takes its prerequisites (snapd itself, bases) from this channel (overlord/snapstate, prerequisites). */
export const PREREQUISITE_CHANNEL = 'stable';
/** The order MicroCloud's docs install them in. */
export const CLUSTER_SNAPS = ['lxd', 'microceph', 'microovn', 'microcloud'] as const;

export interface ResolvedSnap extends StoreSnap {
  readonly channel: string;
  /** A snap the cluster file names, or one snapd needs before it. */
  readonly role: 'cluster' | 'prerequisite';
}

export type Resolution =
  | { readonly ok: true; readonly snaps: readonly ResolvedSnap[] }
  | { readonly ok: false; readonly refused: readonly StoreRefusal[]; readonly other: readonly string[] };

/** Rounds of bases deeper than this mean the store's answers go round in circles. */
const MAX_ROUNDS = 8;

/**
 * Every snap to bundle, in the order to install them: snapd, then the bases (a base a base
 * needs before it), then the cluster's snaps in CLUSTER_SNAPS order.
 */
export async function resolveSnaps(store: SnapStore, channels: SnapChannels): Promise<Resolution> {
  const first: Wanted[] = [
    { name: 'snapd', channel: PREREQUISITE_CHANNEL },
    ...CLUSTER_SNAPS.map((name) => ({ name, channel: channels[name] })),
  ];
  const rounds: ResolvedSnap[][] = [];
  const asked = new Set<string>();
  let wanted = first;
  while (wanted.length) {
    if (rounds.length === MAX_ROUNDS)
      return { ok: false, refused: [], other: [`the bases go ${MAX_ROUNDS} deep (${wanted.map((w) => w.name).join(', ')} still missing)`] };
    for (const w of wanted) asked.add(w.name);
    const answer = await store.refresh(wanted);
    if (answer.refused.length || answer.other.length) return { ok: false, refused: answer.refused, other: answer.other };
    const byName = new Map(answer.found.map((s) => [s.name, s]));
    const round = wanted.map((w): ResolvedSnap => ({
      ...byName.get(w.name)!, channel: w.channel,
      role: (CLUSTER_SNAPS as readonly string[]).includes(w.name) && rounds.length === 0 ? 'cluster' : 'prerequisite',
    }));
    rounds.push(round);
    const bases = [...new Set(round.map(baseNeeded).filter((b): b is string => b !== undefined && !asked.has(b)))];
    wanted = bases.map((name) => ({ name, channel: PREREQUISITE_CHANNEL }));
  }
  const [firstRound, ...baseRounds] = rounds;
  const snapd = firstRound!.filter((s) => s.role === 'prerequisite');
  const cluster = firstRound!.filter((s) => s.role === 'cluster');
  return { ok: true, snaps: [...snapd, ...baseRounds.reverse().flat(), ...cluster] };
}
