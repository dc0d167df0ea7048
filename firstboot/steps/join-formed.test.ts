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

  it('a founder running late, while some founders are done: not new, and nobody to ask', () => {
    const founder = planNodeConfig(cluster(3), 'pi3');
    const seen = [done('pi1', names(3)), booting('pi2')];
    expect(newcomersOf(founder, seen)).toEqual(['pi3']);
    expect(formedWithout(founder, seen)).toEqual([]);
  });
});
