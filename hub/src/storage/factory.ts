import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type HubConfig } from '../config.js';
import { LocalObjectStore } from './local-object-store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore, type S3Credentials } from './s3-object-store.js';

function readSecret(inline: string, file: string, setting: string): string {
  if (inline) return inline;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read ${setting} ${file}: ${(err as Error).message}`);
  }
  const secret = text.trim();
  if (!secret) throw new ConfigError(`${setting} ${file} is empty`);
  return secret;
}

/** The S3 store described by `storage.s3`, secrets read from their files. */
function s3StoreFromConfig(config: HubConfig): S3ObjectStore {
  const s3 = config.storage.s3;
  const credentials: S3Credentials = {
    accessKeyId: s3.accessKeyId,
    secretAccessKey: readSecret(s3.secretAccessKey, s3.secretAccessKeyFile, 'storage.s3.secretAccessKeyFile'),
  };
  const signer: S3Credentials | undefined = s3.presign.accessKeyId
    ? {
        accessKeyId: s3.presign.accessKeyId,
        secretAccessKey: readSecret(s3.presign.secretAccessKey, s3.presign.secretAccessKeyFile, 'storage.s3.presign.secretAccessKeyFile'),
      }
    : undefined;
  return new S3ObjectStore({
    endpoint: s3.endpoint.replace(/\/$/, ''),
    bucket: s3.bucket,
    region: s3.region,
    credentials,
    forcePathStyle: s3.forcePathStyle,
    prefix: s3.prefix,
    presign: { endpoint: s3.presign.endpoint.replace(/\/$/, ''), credentials: signer },
  });
}

/**
 * The object store the configuration asks for, ready to use: with
 * `storage.s3.createBucket` the bucket exists when this resolves.
 */
export async function createObjectStore(config: HubConfig): Promise<ObjectStore> {
  if (config.storage.kind === 's3') {
    const store = s3StoreFromConfig(config);
    if (config.storage.s3.createBucket) await store.ensureBucket();
    return store;
  }
  return new LocalObjectStore(config.storage.local.dir || path.join(config.stateDir, 'object-store'));
}
