// Rules for cluster-level disk filters, as MicroCloud's preseed validation and Parse apply
// them (cmd/microcloud/preseed.go), but with the file, line and fix.
import { parseDiskFilter } from './disk-filter.js';
import { problem, warning, type Problem } from './problems.js';
import { at, type Rule } from './rule-helpers.js';
import type { Cluster, DiskFilter } from './types.js';

type Kind = 'local' | 'ceph';
const KINDS: readonly Kind[] = ['local', 'ceph'];
const filtersOf = (c: Cluster, kind: Kind): readonly DiskFilter[] => c.diskFilters[kind];
const each = (c: Cluster, check: (f: DiskFilter, kind: Kind, path: (string | number)[]) => Problem[]): Problem[] =>
  KINDS.flatMap((kind) => filtersOf(c, kind).flatMap((f, i) => check(f, kind, ['disks', kind, i])));

export const filterExpressions: Rule = (c) => each(c, (f, _kind, path) => {
  const parsed = parseDiskFilter(f.find);
  if (!parsed.ok) return [problem([...path, 'find'], `"${f.find}" ${parsed.mistake.message}`, parsed.mistake.hint)];
  return parsed.warnings.map((w) => warning([...path, 'find'], `"${f.find}" ${w.message}`, w.hint));
});

export const filterCounts: Rule = (c) => each(c, (f, kind, path) => {
  if (kind === 'ceph' && f.findMin < 1) return [problem([...path, 'find_min'], f.findMin === 0 ? 'is 0 or missing' : `is ${f.findMin}`,
    'Set find_min to at least 1: MicroCloud refuses a Ceph filter that may find nothing (a cluster that is silently not HA).')];
  if (f.findMax !== 0 && f.findMax < f.findMin) return [problem([...path, 'find_max'], `${f.findMax} is below find_min ${f.findMin}`,
    'Set find_max to 0 (no limit) or to at least find_min.')];
  return [];
});

export const encryptOnlyForCeph: Rule = (c) => c.diskFilters.local.flatMap((f, i) => f.encrypt
  ? [problem(['disks', 'local', i, 'encrypt'], 'is set on a local disk filter',
    'Only Ceph OSDs can be encrypted by MicroCloud: remove encrypt here, or move the filter under disks.ceph.')]
  : []);

/** MicroCloud: "<kind> disk filter cannot be used. All systems have explicitly specified disks". */
export const filtersHaveNodesToCover: Rule = (c) => KINDS.flatMap((kind) => {
  if (filtersOf(c, kind).length === 0) return [];
  const explicit = (n: Cluster['nodes'][number]) => (kind === 'ceph' ? n.cephDisks.length > 0 : !!n.localDisk);
  if (!c.nodes.every(explicit)) return [];
  return [problem(['disks', kind], `filters cannot be used: every node lists its own disks.${kind}`,
    `MicroCloud refuses this: remove the ${kind} filters, or the explicit disks.${kind} from the nodes the filter should serve.`)];
});

/** MicroCloud: "Some systems are missing local storage disks", unless a filter serves the rest. */
export const localDisksAllOrNone: Rule = (c) => {
  const withLocal = c.nodes.filter((n) => n.localDisk);
  if (withLocal.length === 0 || withLocal.length === c.nodes.length || c.diskFilters.local.length > 0) return [];
  return c.nodes.filter((n) => !n.localDisk).map((n) => problem(at(n, 'disks', 'local'),
    `is missing while nodes[${withLocal[0]!.index}] has one`,
    'Give every node a local disk, or add a local filter (disks.local at the top level) for the rest.'));
};

export const DISK_FILTER_RULES: readonly Rule[] = [
  filterExpressions, filterCounts, encryptOnlyForCeph, filtersHaveNodesToCover, localDisksAllOrNone,
];
