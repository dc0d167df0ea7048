import type { NodeStatus } from '../run/types.js';
import { rememberingReads } from './read-status.js';

describe('rememberingReads', () => {
  it('asks a peer again only once the last answer is older than the reuse time, each peer on its own', async () => {
    let now = 0;
    const asked: string[] = [];
    const read = rememberingReads(async (address) => {
      asked.push(address);
      return address === '10.0.0.12' ? undefined : { node: address, step: 'wait-peers', state: 'waiting', since: `${now}` } as NodeStatus;
    }, { now: () => now, sleep: async () => {} }, 1000);
    expect((await read('10.0.0.11', 9180))?.since).toBe('0');
    await read('10.0.0.12', 9180);
    now = 999;
    expect((await read('10.0.0.11', 9180))?.since).toBe('0'); // the same answer, not asked
    expect(await read('10.0.0.12', 9180)).toBeUndefined(); // no answer is remembered too, as briefly
    expect(asked).toEqual(['10.0.0.11', '10.0.0.12']);
    now = 1000;
    expect((await read('10.0.0.11', 9180))?.since).toBe('1000');
    expect(await read('10.0.0.11', 9181)).toBeDefined(); // another port is another endpoint
    expect(asked).toEqual(['10.0.0.11', '10.0.0.12', '10.0.0.11', '10.0.0.11']);
  });
});
