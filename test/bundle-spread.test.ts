// A snap bundle spreading over the nodes (test/simulation/bundle-spread.ts): the product's fetch and
// bundle servers, real HTTP on loopback, real files, with the links modelled (a Pi 4's NIC, the
// operator's computer on Ethernet or Wi-Fi, the site's uplink to the store). Every node's files
// are checked against the bundle by the harness itself. The goals of issue 28: every node within
// 3 times one node's fetch from the operator's computer, which sends at most 4 copies.
// `npm run simulate -- --bundle` runs fifty, for the notes.
import { LINK_MBIT } from './simulation/link.js';
import { spreadBundle, type Source, type SpreadResult } from './simulation/bundle-spread.js';

import { jest } from '@jest/globals';

jest.setTimeout(180_000);

const last = (r: SpreadResult) => r.doneS[r.doneS.length - 1]!;

async function againstOne(source: Source, nodes: number, speedup: number): Promise<{ one: SpreadResult; all: SpreadResult }> {
  const one = await spreadBundle({ nodes: 1, source, scale: 100, speedup });
  const all = await spreadBundle({ nodes, source, scale: 100, speedup });
  return { one, all };
}

describe('a bundle spreading from the operator\'s computer', () => {
  it('one node alone takes about the time its link allows, and sends nothing on', async () => {
    const all = await spreadBundle({ nodes: 1, source: 'ethernet', scale: 100, speedup: 1 });
    const linkS = (500e6 * 8) / (LINK_MBIT.ethernet * 1e6); // 4.3 s: the model is no faster than its links
    expect(all.doneS[0]).toBeGreaterThanOrEqual(linkS * 0.95);
    expect(all.doneS[0]).toBeLessThan(linkS * 2);
    expect(all.sourceCopies).toBe(1);
  });

  it('ten nodes on Ethernet: each within 3 times one node\'s fetch, the operator sends at most 4 copies, the nodes pass files on while they arrive', async () => {
    const { one, all } = await againstOne('ethernet', 10, 1);
    expect(all.complete).toBe(10);
    expect(last(all)).toBeLessThanOrEqual(3 * one.doneS[0]!);
    expect(all.sourceCopies).toBeLessThanOrEqual(4);
    expect(all.sourceCopies + all.peerCopies).toBeGreaterThanOrEqual(10); // every node got a whole copy from someone
    expect(all.passedOnArrivingCopies).toBeGreaterThan(0); // a node three hops down did not wait for whole files
  });

  it('three nodes with the operator on Wi-Fi: the Pis pass it on, so three take little longer than one', async () => {
    const { one, all } = await againstOne('wifi', 3, 1);
    expect(all.complete).toBe(3);
    // One slow link crossed about once, not three times (3x). 1.0x on an idle machine; room for a loaded CI machine.
    expect(last(all)).toBeLessThanOrEqual(2 * one.doneS[0]!);
    expect(all.sourceCopies).toBeLessThanOrEqual(2);
  });
});

describe('the same nodes from the store, as without a bundle', () => {
  it('three nodes through a 100 Mbit/s uplink: each takes its own copy through it, three times the bytes', async () => {
    const all = await spreadBundle({ nodes: 3, source: 'store', scale: 100, speedup: 10 });
    expect(all.complete).toBe(3);
    expect(all.sourceCopies).toBe(3);
    expect(all.peerCopies).toBe(0);
    const uplinkS = (3 * 500e6 * 8) / (LINK_MBIT.uplink * 1e6); // 120 s: the uplink carried every copy
    expect(last(all)).toBeGreaterThanOrEqual(uplinkS * 0.95);
  });
});
