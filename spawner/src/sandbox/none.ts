/**
 * `spawner.sandbox: none`: user code runs as the hub's own OS user and sees
 * everything the hub sees. Only for platforms that isolate some other way
 * (a dedicated VM per user); the hub warns on every admin page while it is on.
 */
import { mkdirSync } from 'node:fs';
import { type AssignedLaunch, type Sandbox, type SandboxLaunch, type SandboxRequest, validateRequest, type WaitingLaunch, type WaitingSandboxes } from './sandbox.js';

export class NoSandbox implements Sandbox {
  readonly kind = 'none' as const;

  async check(): Promise<void> {
    // Nothing to start.
  }

  async prepare(request: SandboxRequest): Promise<SandboxLaunch> {
    validateRequest(request);
    mkdirSync(request.home, { recursive: true, mode: 0o700 });
    const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
    const systemPath = process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin';
    return { prefix: [], home: request.home, tmp: undefined, systemPath, user: request.loginName, uid, isolated: false, openFds: () => [] };
  }

  waiting(): WaitingSandboxes {
    const systemPath = () => process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin';
    // Without a sandbox a waiting server already runs as the hub: it only needs the user's paths.
    return {
      prepare: async (): Promise<WaitingLaunch> => ({ prefix: [], tmp: undefined, systemPath: systemPath(), isolated: false }),
      assign: async (_dir: string, request: SandboxRequest, logFile: string): Promise<AssignedLaunch> => {
        const launch = await this.prepare(request);
        return { home: launch.home, tmp: launch.tmp, systemPath: launch.systemPath, user: launch.user, uid: launch.uid, gid: launch.uid, becomeUid: undefined, isolated: false, log: logFile, opened: async () => undefined };
      },
      release: async () => undefined,
    };
  }
}
