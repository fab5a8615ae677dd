import type { IncomingMessage } from 'node:http';

/**
 * What deciding about a request needs of it: its method, target and headers.
 * The data plane asks the hub about requests the hub never receives
 * (hub/src/workspaces/data-plane.ts), so decisions take this, not the message.
 */
export type RequestHead = Pick<IncomingMessage, 'method' | 'url' | 'headers'>;
