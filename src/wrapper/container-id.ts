import fs from 'node:fs';

/** A container id: 64 hex digits (Docker, containerd, Podman, CRI-O). */
const ID = /[0-9a-f]{64}/;

/**
 * The id of the container this process runs in, or '' outside one (FF WRAPPER's
 * /get_container_id). Read from /proc/self/cgroup (cgroup v1: `/docker/ID`, `docker-ID.scope`,
 * `libpod-ID.scope`, `cri-containerd-ID.scope`...) and, where cgroup v2 shows only `0::/`, from
 * /proc/self/mountinfo (the runtime mounts `/containers/ID/hostname` and friends).
 */
export function containerId(files: { cgroup?: string; mountinfo?: string } = {}): string {
  const cgroup = read(files.cgroup ?? '/proc/self/cgroup');
  for (const line of cgroup.split('\n')) {
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    const last = path.split('/').pop() ?? '';
    const m = ID.exec(last);
    if (m) return m[0];
  }
  const mountinfo = read(files.mountinfo ?? '/proc/self/mountinfo');
  const m = /\/(?:containers|overlay-containers)\/([0-9a-f]{64})\//.exec(mountinfo);
  return m?.[1] ?? '';
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
