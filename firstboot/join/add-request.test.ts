// A joiner runs a member's add plan only when it says about this node exactly what it asked.
import { checkPlan, type AddRequest } from './add-request.js';

const member = { name: 'pi1', address: '10.0.0.11' };
const filters = { ceph: [{ find: 'type == ssd', find_min: 1, find_max: 1, wipe: true }] };
const request: AddRequest = { node: 'pi4', address: '10.0.0.14', replace: false, system: { name: 'pi4', ovn_uplink_interface: 'eth1' }, filters };
const good = { initiator: 'pi1', lookup_subnet: '10.0.0.0/24', lookup_timeout: 600, session_timeout: 3600,
  systems: [{ name: 'pi4', ovn_uplink_interface: 'eth1' }, { name: 'pi5' }], storage: filters };

describe('checkPlan', () => {
  it('takes a plan from this member with this node as it asked, whatever the order of its keys', () => {
    expect(checkPlan(good, member, request)).toBe(good);
    const reordered = { ...good, storage: { ceph: [{ wipe: true, find_max: 1, find_min: 1, find: 'type == ssd' }] },
      systems: [{ ovn_uplink_interface: 'eth1', name: 'pi4' }] };
    expect(checkPlan(reordered, member, request)).toBeDefined();
  });

  it.each<[string, Record<string, unknown>]>([
    ['another member\'s', { ...good, initiator: 'pi2' }],
    ['a batch-mate\'s disk filters (they would choose the disks this node wipes)', { ...good, storage: { ceph: [{ ...filters.ceph[0], find: 'size > 0', find_max: 8 }] } }],
    ['no filters where the node asked for some', { ...good, storage: undefined }],
    ['this node\'s entry changed', { ...good, systems: [{ name: 'pi4', ovn_uplink_interface: 'eth0' }] }],
    ['this node twice', { ...good, systems: [{ name: 'pi4', ovn_uplink_interface: 'eth1' }, { name: 'pi4', ovn_uplink_interface: 'eth1' }] }],
    ['without this node', { ...good, systems: [{ name: 'pi5' }] }],
    ['a field an add preseed does not have', { ...good, ovn: { ipv4_gateway: '10.0.0.1/24' } }],
  ])('refuses a plan with %s', (_, plan) => {
    expect(checkPlan(JSON.parse(JSON.stringify(plan)), member, request)).toBeUndefined();
  });
});
