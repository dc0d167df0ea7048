// user-data: hostname, the admin user (keys only, no password), time, and the first-boot files.
import type { Cluster } from '../config/types.js';
import { INSTALL_COMMAND } from './install-command.js';
import type { CloudConfig } from './cloud-config.js';
import { NODE_KEY_PATH } from '../../firstboot/join/node-identity.js';
import { cardIdentity, NODE_CONFIG_PATH, PRESEED_PATH, renderNodeConfig, type SeedOptions } from './node-config.js';
import { nodeNamed } from './node-named.js';
import { renderTemplate } from './templates.js';

export function planUserData(cluster: Cluster, nodeName: string, preseed: string, options: SeedOptions = {}): CloudConfig {
  const node = nodeNamed(cluster, nodeName);
  return {
    hostname: node.name,
    fqdn: node.fqdn,
    prefer_fqdn_over_hostname: false,
    manage_etc_hosts: true,
    timezone: cluster.timezone,
    users: [{
      name: cluster.admin.name,
      gecos: 'microcloud-pi administrator',
      groups: ['adm', 'sudo'],
      shell: '/bin/bash',
      sudo: 'ALL=(ALL) NOPASSWD:ALL', // the account has no password to type
      lock_passwd: true,
      ssh_authorized_keys: [...cluster.admin.sshKeys],
    }],
    ssh_pwauth: false,
    disable_root: true,
    ...(cluster.network.ntp.length ? { ntp: { enabled: true, servers: [...cluster.network.ntp] } } : {}),
    write_files: [
      { path: PRESEED_PATH, owner: 'root:root', permissions: '0600', content: preseed },
      { path: NODE_CONFIG_PATH, owner: 'root:root', permissions: '0644', content: renderNodeConfig(cluster, nodeName, options) },
      // The card's own signing key: whoever reads it can speak as this node, and only as this node.
      ...(options.ticket
        ? [{ path: NODE_KEY_PATH, owner: 'root:root', permissions: '0600', content: `${cardIdentity(cluster, nodeName, options.ticket).privateKey}\n` }] : []),
    ],
    // The first-boot service travels on the boot partition; this installs and starts it.
    runcmd: [[...INSTALL_COMMAND]],
    final_message: 'microcloud-pi seed applied; cloud-init finished after $UPTIME seconds',
  };
}

export const renderUserData = (cluster: Cluster, nodeName: string, preseed: string, options: SeedOptions = {}): string =>
  renderTemplate('user-data', planUserData(cluster, nodeName, preseed, options));
