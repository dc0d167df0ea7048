import { planNodeConfig } from '../../builder/render/node-config.js';
import { cluster } from '../../test/helpers/first-boot-rig.js';
import type { NodeStatus } from '../run/types.js';
import { formedWithout, newcomersOf } from './join-formed.js';

const names = (n: number) => Array.from({ length: n }, (_, i) => `pi${i + 1}`);
const done = (node: string, formedWith: string[]): NodeStatus => ({ node, step: 'done', state: 'done', since: 't', formedWith });
const booting = (node: string): NodeStatus => ({ node, step: 'install-snaps', state: 'running', since: 't' });

describe('who is new, as a node that is not a member sees its peers', () => {
  // pi11 of twelve: pi1-pi3 formed with a file of three; pi4 and pi5 joined later with the file of twelve
  // (so they count all twelve as founders); pi6-pi10 and pi12 are still booting.
  const config = planNodeConfig(cluster(12), 'pi11');
  const statusOf = (name: string) => (['pi1', 'pi2', 'pi3'].includes(name) ? done(name, names(3))
    : ['pi4', 'pi5'].includes(name) ? done(name, names(12)) : booting(name));
  const statuses = config.peers.map((p) => statusOf(p.name));

  it('names every peer still booting as new, though the nodes that joined count them among their founders', () => {
    expect(newcomersOf(config, statuses)).toEqual(['pi11', 'pi6', 'pi7', 'pi8', 'pi9', 'pi10', 'pi12']);
  });

  it('asks the done peers in the file\'s order', () => {
    expect(formedWithout(config, statuses).map((m) => m.name)).toEqual(['pi1', 'pi2', 'pi3', 'pi4', 'pi5']);
  });

  it('asks the initiator first when it is done', () => {
    const late = { ...planNodeConfig(cluster(12), 'pi11'), initiator: 'pi3' };
    expect(formedWithout(late, late.peers.map((p) => statusOf(p.name))).map((m) => m.name)).toEqual(['pi3', 'pi1', 'pi2', 'pi4', 'pi5']);
  });

  // A lost card of pi2 that never booted answers at pi2's address, signed as pi2: "done", formed without pi1 (or with it).
  it.each([[['pi2']], [['pi1', 'pi2', 'pi3']]])('does not take a formation on one peer\'s word that is not the initiator\'s (formedWith %j)', (formedWith) => {
    const pi1 = planNodeConfig(cluster(3), 'pi1');
    expect(formedWithout(pi1, [done('pi2', formedWith), undefined])).toEqual([]);
    const pi3 = planNodeConfig(cluster(3), 'pi3');
    expect(formedWithout(pi3, [undefined, done('pi2', formedWith)])).toEqual([]);
    // The initiator's word, or two peers', is taken.
    expect(formedWithout(pi3, [done('pi1', formedWith), undefined]).map((m) => m.name)).toEqual(['pi1']);
    const pi4 = planNodeConfig(cluster(4), 'pi4');
    expect(formedWithout(pi4, [undefined, done('pi2', names(3)), done('pi3', names(3))]).map((m) => m.name)).toEqual(['pi2', 'pi3']);
  });

  it('a founder running late, while some founders are done: not new, and nobody to ask', () => {
    const founder = planNodeConfig(cluster(3), 'pi3');
    const seen = [done('pi1', names(3)), booting('pi2')];
    expect(newcomersOf(founder, seen)).toEqual(['pi3']);
    expect(formedWithout(founder, seen)).toEqual([]);
  });
});
