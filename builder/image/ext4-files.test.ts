import { debugfsScript } from './ext4-files.js';

describe('debugfsScript', () => {
  it('makes each parent directory once, before its children, and pins modes and owners', () => {
    expect(debugfsScript([
      { kind: 'file', path: '/usr/lib/mcpi/a.js', source: '/tmp/a', mode: 0o644 },
      { kind: 'file', path: '/usr/lib/mcpi/node', source: '/tmp/node', mode: 0o755 },
      { kind: 'symlink', path: '/etc/systemd/system/multi-user.target.wants/x.service', target: '/etc/systemd/system/x.service' },
    ])).toEqual([
      'mkdir /usr', 'mkdir /usr/lib', 'mkdir /usr/lib/mcpi',
      'write /tmp/a /usr/lib/mcpi/a.js', 'sif /usr/lib/mcpi/a.js mode 0100644', 'sif /usr/lib/mcpi/a.js uid 0', 'sif /usr/lib/mcpi/a.js gid 0',
      'write /tmp/node /usr/lib/mcpi/node', 'sif /usr/lib/mcpi/node mode 0100755', 'sif /usr/lib/mcpi/node uid 0', 'sif /usr/lib/mcpi/node gid 0',
      'mkdir /etc', 'mkdir /etc/systemd', 'mkdir /etc/systemd/system', 'mkdir /etc/systemd/system/multi-user.target.wants',
      'symlink /etc/systemd/system/multi-user.target.wants/x.service /etc/systemd/system/x.service',
    ]);
  });

  it('refuses paths debugfs would split or misread', () => {
    expect(() => debugfsScript([{ kind: 'dir', path: '/etc/with space', mode: 0o755 }])).toThrow(/unsafe path/);
    expect(() => debugfsScript([{ kind: 'dir', path: 'relative', mode: 0o755 }])).toThrow(/unsafe path/);
    expect(() => debugfsScript([{ kind: 'file', path: '/a', source: '/tmp/x y', mode: 0o644 }])).toThrow(/unsafe source/);
  });
});
