/** `/proc/self/mountinfo`, read by the cgroup detection and the waiting sandboxes' mounts. */
import { readFileSync } from 'node:fs';

export interface MountInfo {
  mountPoint: string;
  options: string[];
  fsType: string;
  superOptions: string[];
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const mountPoint = left[4];
    const fsType = right[0];
    if (mountPoint === undefined || fsType === undefined) continue;
    out.push({
      mountPoint: unescapeMount(mountPoint),
      options: (left[5] ?? '').split(','),
      fsType,
      superOptions: (right[2] ?? '').split(','),
    });
  }
  return out;
}

/** Mount points of this process's mount namespace. */
export function readMountInfo(): MountInfo[] {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}
