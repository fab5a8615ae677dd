/**
 * A short system command the hub runs for the sandbox itself (the start-up
 * check, the mounts of a waiting sandbox), never user code: its exit code
 * and the end of what it said on stderr.
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  stderr: string;
  /** Set when it could not be started at all. */
  error?: string;
}

export function runCommand(argv: string[], options: { path: string; fds?: number[]; timeoutMs?: number }): Promise<CommandResult> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv as [string, ...string[]];
    const child = spawn(cmd, args, {
      env: { PATH: options.path },
      stdio: ['ignore', 'ignore', 'pipe', ...(options.fds ?? [])],
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
    child.on('error', (err) => resolve({ code: null, stderr, error: err.message }));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}
