// The live view of `build-image serve`: per node, which files it fetched, how far, and whether each
// finished. Sources are named by the cluster file's addresses; any other asker is shown by its
// address. Pure: events in, text out; the command decides when to draw.
import type { FetchEvent } from '../../firstboot/bundle/bundle-server.js';
import type { Cluster } from '../config/types.js';

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

interface FileState { file: string; bytes: number; length: number; state: FetchEvent['state']; at: number }

export class FetchView {
  private readonly names: ReadonlyMap<string, string>;
  /** source -> file -> its latest fetch (a retry or a resume replaces the one before). */
  private readonly sources = new Map<string, Map<string, FileState>>();
  private served = 0;

  constructor(cluster: Pick<Cluster, 'nodes'>, private readonly fileCount: number) {
    this.names = new Map(cluster.nodes.map((n) => [n.address, n.name]));
  }

  who(source: string): string {
    const name = this.names.get(source);
    return name ? `${name} (${source})` : `${source} (not in the cluster file)`;
  }

  /** Takes an event; returns a line worth printing on its own (a fetch started or ended), if any. */
  apply(e: FetchEvent): string | undefined {
    const files = this.sources.get(e.source) ?? new Map<string, FileState>();
    this.sources.set(e.source, files);
    files.set(e.file, { file: e.file, bytes: e.start + e.bytes, length: e.start + e.length, state: e.state, at: e.at });
    if (e.state === 'done') this.served += e.bytes;
    const part = e.start ? ` from byte ${e.start}` : '';
    if (e.state === 'started') return `${clock(e.at)} ${this.who(e.source)}: ${e.file}${part}, ${mib(e.length)}`;
    if (e.state === 'done') return `${clock(e.at)} ${this.who(e.source)}: ${e.file} done, ${mib(e.bytes)} sent`;
    if (e.state === 'aborted') return `${clock(e.at)} ${this.who(e.source)}: ${e.file} stopped after ${mib(e.bytes)} of ${mib(e.length)}${part}`;
    return undefined;
  }

  /** Bytes sent in fetches that finished, in all. */
  get bytesServed(): number { return this.served; }

  /** One block: a line per node that asked (cluster order first), its done files and what is under way. */
  frame(): string {
    const order = [...this.names.keys()].filter((a) => this.sources.has(a)).concat([...this.sources.keys()].filter((a) => !this.names.has(a)));
    if (!order.length) return 'no node has asked yet\n';
    return order.map((source) => {
      const files = [...this.sources.get(source)!.values()];
      const done = files.filter((f) => f.state === 'done' && f.file !== 'bundle.json');
      const moving = files.filter((f) => f.state === 'started' || f.state === 'sending');
      const stopped = files.filter((f) => f.state === 'aborted');
      const now = moving.map((f) => `${f.file} ${Math.floor((f.bytes / Math.max(1, f.length)) * 100)}%`);
      return `${this.who(source)}: ${done.length}/${this.fileCount} files done, ${mib(done.reduce((s, f) => s + f.length, 0))}`
        + `${now.length ? `; fetching ${now.join(', ')}` : ''}${stopped.length ? `; stopped: ${stopped.map((f) => f.file).join(', ')}` : ''}`;
    }).join('\n').concat('\n');
  }
}
