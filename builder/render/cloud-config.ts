// The cloud-config keys we emit, typed. No published TypeScript types exist for cloud-init,
// so this is ours: the subset of cloud-init's schema that microcloud-pi writes.

export interface CloudUser {
  name: string;
  gecos: string;
  groups: string[];
  shell: string;
  sudo: string;
  lock_passwd: boolean;
  ssh_authorized_keys: string[];
}

export interface CloudWriteFile {
  path: string;
  owner: string;
  /** cloud-init wants a string such as "0600"; a number is a schema error. */
  permissions: string;
  content: string;
}

export interface CloudConfig {
  hostname: string;
  fqdn: string;
  prefer_fqdn_over_hostname: boolean;
  manage_etc_hosts: boolean;
  timezone: string;
  users: CloudUser[];
  ssh_pwauth: boolean;
  disable_root: boolean;
  ntp?: { enabled: boolean; servers: string[] };
  write_files: CloudWriteFile[];
  /** Argument lists, run once per instance by cloud-init's final stage. */
  runcmd: string[][];
  final_message: string;
}
