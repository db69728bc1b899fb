import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerId } from '../../src/wrapper/container-id.js';
import { tempDir } from '../support/tmp.js';

const ID = 'a3f1c2d4e5b60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef0';

/** containerId() on made-up /proc files. */
function idOf(cgroup: string, mountinfo = ''): string {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'cgroup'), cgroup);
  fs.writeFileSync(path.join(dir, 'mountinfo'), mountinfo);
  return containerId({ cgroup: path.join(dir, 'cgroup'), mountinfo: path.join(dir, 'mountinfo') });
}

describe('the container id (/get_container_id)', () => {
  it('reads it from cgroup v1 paths of Docker, containerd and Podman', () => {
    expect(idOf(`12:memory:/docker/${ID}\n11:cpuset:/docker/${ID}\n`)).toBe(ID);
    expect(idOf(`0::/system.slice/docker-${ID}.scope\n`)).toBe(ID);
    expect(idOf(`1:name=systemd:/kubepods/burstable/pod1234/cri-containerd-${ID}.scope\n`)).toBe(ID);
    expect(idOf(`0::/machine.slice/libpod-${ID}.scope/container\n`.replace('/container', ''))).toBe(ID);
  });

  it('falls back to the mounts under cgroup v2, where the cgroup is only 0::/', () => {
    const docker = `612 590 0:52 /docker/containers/${ID}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw\n`;
    expect(idOf('0::/\n', `1 0 0:1 / / rw - overlay overlay rw\n${docker}`)).toBe(ID);
    const podman = `700 600 0:60 /containers/storage/overlay-containers/${ID}/userdata/hostname /etc/hostname rw - tmpfs tmpfs rw\n`;
    expect(idOf('0::/\n', podman)).toBe(ID);
  });

  it('is empty outside a container, and when /proc cannot be read', () => {
    expect(idOf('0::/user.slice/user-1000.slice/session-2.scope\n4:memory:/process_api/2953364d45bc308c9c41f04fd201b5c2\n', '1 0 0:1 / / rw - ext4 /dev/sda1 rw\n')).toBe('');
    expect(containerId({ cgroup: '/nonexistent/cgroup', mountinfo: '/nonexistent/mountinfo' })).toBe('');
  });
});
