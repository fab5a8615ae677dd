export interface ProgressMessage {
  progress: number;
  message: string;
  /** Set on the last event of a successful start. */
  ready?: boolean;
  /** Set on the last event of a failed start. */
  failed?: boolean;
  /** Where to open the workspace once ready. */
  url?: string;
  time: number;
}

/**
 * The progress of one start, replayed to late subscribers (a page reload
 * during a spawn shows everything so far) and streamed to live ones.
 */
export class ProgressChannel {
  readonly events: ProgressMessage[] = [];
  private readonly listeners = new Set<(event: ProgressMessage) => void>();

  get finished(): boolean {
    const last = this.events.at(-1);
    return Boolean(last?.ready || last?.failed);
  }

  emit(event: Omit<ProgressMessage, 'time'>): void {
    if (this.finished) return;
    const last = this.events.at(-1);
    // Progress never goes backwards on the user's bar.
    const full = { ...event, progress: Math.max(event.progress, last?.progress ?? 0), time: Date.now() };
    this.events.push(full);
    if (this.events.length > 500) this.events.splice(1, this.events.length - 500);
    for (const listener of this.listeners) listener(full);
  }

  subscribe(listener: (event: ProgressMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
