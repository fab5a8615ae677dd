import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent, fetch } from 'undici';
import { AddressBlocks } from '../core/address-blocks.js';
import { log } from '../core/log.js';
import type { JobStore, JobRecord, RunRecord } from './store.js';

/**
 * Telling people a run failed: a notification in the hub (the bell on every
 * page, and the Jobs panel in JupyterLab) for the job's owner, and the job's
 * webhook if it has one. The webhook's body names the job and run and links
 * to the run's page; it never carries outputs, which may hold data.
 */
export class RunNotifier {
  private readonly blocked: AddressBlocks;
  private readonly agent: Agent;

  constructor(
    private readonly store: JobStore,
    private readonly options: { publicUrl: () => string; timeoutSeconds: number; blockedAddresses: readonly string[] },
  ) {
    this.blocked = new AddressBlocks(options.blockedAddresses);
    // The address is checked where the connection is made, so a name that resolves differently the second time cannot slip through.
    this.agent = new Agent({
      connect: {
        lookup: (hostname: string, opts: object, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
          dnsLookup(hostname, { ...opts, all: true }, (err, addresses) => {
            if (err) return callback(err, []);
            const list = addresses as LookupAddress[];
            const refused = list.find((a) => this.isBlocked(a.address));
            if (refused) return callback(new Error(`${hostname} resolves to ${refused.address}, which webhooks may not reach (jobs.webhookBlockedAddresses)`), []);
            if ((opts as { all?: boolean }).all) return callback(null, list);
            callback(null, list[0]!.address, list[0]!.family);
          });
        },
      },
    });
  }

  isBlocked(address: string): boolean {
    return this.blocked.has(address);
  }

  async runFailed(job: JobRecord, run: RunRecord, message: string): Promise<void> {
    const link = `/hub/jobs/${job.team}/${job.name}/runs/${run.id}`;
    await this.store.notify({ user: job.owner, team: job.team, kind: 'job-failed', message: `Job ${job.team}/${job.name}: run ${run.id} failed. ${message}`, link }).catch((err: Error) =>
      log.warn('could not record a job notification', { job: `${job.team}/${job.name}`, run: run.id, reason: err.message }),
    );
    if (job.webhookUrl) await this.webhook(job, run, message, link);
  }

  private async webhook(job: JobRecord, run: RunRecord, message: string, link: string): Promise<void> {
    const body = {
      event: 'job.run.failed',
      job: `${job.team}/${job.name}`,
      team: job.team,
      owner: job.owner,
      run: run.id,
      attempt: run.attempt,
      trigger: run.trigger,
      message,
      url: `${this.options.publicUrl().replace(/\/$/, '')}${link}`,
    };
    try {
      const r = await fetch(job.webhookUrl!, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'Atrium-Jobs' },
        body: JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutSeconds * 1000),
        dispatcher: this.agent,
      });
      await r.body?.cancel();
      if (!r.ok) log.warn('a job failure webhook answered with an error', { job: body.job, run: run.id, status: r.status });
    } catch (err) {
      log.warn('a job failure webhook could not be called', { job: body.job, run: run.id, reason: (err as Error).cause ? String(((err as Error).cause as Error).message) : (err as Error).message });
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
