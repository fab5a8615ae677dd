/**
 * The test cluster's real node (a kubelet with containerd, started by
 * scripts/kube.sh, described in the file ATRIUM_TEST_REAL_NODE) and the hub
 * settings that send workspaces, model servers and re-runs there: the node is
 * tainted so kwok-based tests never land on it, and only pods with its
 * toleration and node selector run for real.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { HUB_SA, hubIdentity, randomSuffix, tcpRelay } from './kube.js';

export interface RealNode {
  name: string;
  nodeSelector: Record<string, string>;
  toleration: { key: string; operator: 'Exists' | 'Equal'; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' };
  /** Where pods reach this machine (the node's bridge): a hub on this machine listens here. */
  hostIp: string;
  podCidr: string;
  storageClass: string;
  /** The cluster DNS pods are given (CoreDNS on the bridge address). */
  clusterDns: string;
  /** The node's own test image (Debian's busybox), for tests of the node itself. */
  images: { busybox: string };
  /** What enforces NetworkPolicies for the node's pods (kube-router's firewall). */
  networkPolicies: string;
}

const file = process.env.ATRIUM_TEST_REAL_NODE;

/** In CI a missing real node fails the tests; locally they are skipped with this reason. */
export const skipRealNode: string | false = file
  ? false
  : process.env.CI
    ? false
    : 'no real node: run scripts/test.sh, or scripts/kube.sh start DIR and set ATRIUM_TEST_REAL_NODE=DIR/real-node.json';

export function realNode(): RealNode {
  if (!file) throw new Error('ATRIUM_TEST_REAL_NODE is not set: scripts/kube.sh did not start the real node');
  return JSON.parse(readFileSync(file, 'utf8')) as RealNode;
}

/** The catalog's CPU sizes, each placed on the real node. */
const SIZES = ['small', 'medium', 'large'];

/**
 * Hub settings for workspaces, model servers and re-runs on the real node:
 * the hub's own restricted identity, its address as pods see it (`port` on
 * the node's bridge address), homes on the node's storage class, images
 * already loaded into the node (never pulled).
 */
export async function realNodeSettings(options: { admin: k8s.KubeConfig; dir: string; port: number }): Promise<{ settings: Record<string, any>; prefix: string; node: RealNode }> {
  const node = realNode();
  const hubKubeconfig = path.join(options.dir, 'hub.kubeconfig');
  await hubIdentity(options.admin, hubKubeconfig);
  const prefix = `r${randomSuffix()}-`;
  const placement = Object.fromEntries(SIZES.map((size) => [size, { nodeSelector: node.nodeSelector, tolerations: [node.toleration] }]));
  const settings = {
    spawner: {
      kind: 'kubernetes',
      prepareImages: false,
      kubernetes: {
        kubeconfig: hubKubeconfig,
        namespacePrefix: prefix,
        readiness: 'http',
        storageClass: node.storageClass,
        homeSize: '1Gi',
        imagePullPolicy: 'Never',
        ...hubOnTheHost(node, options.port),
        hubServiceAccount: `${HUB_SA.namespace}/${HUB_SA.name}`,
        placement,
      },
    },
    teamQuotas: { default: { cpu: '8', memory: '32Gi', gpu: 0, pods: 10, storage: '50Gi' } },
  };
  return { settings, prefix, node };
}

/**
 * The hub of these tests runs on the host, not as a pod: pods reach it on the
 * node's bridge address, and the node enforces NetworkPolicies (kube-router),
 * so the hub and the node's DNS (CoreDNS on the host too) are allowed by address.
 */
export function hubOnTheHost(node: RealNode, port: number): { hubUrl: string; hubAddresses: { cidr: string; port: number }[]; dnsAddresses: string[] } {
  return { hubUrl: `http://${node.hostIp}:${port}`, hubAddresses: [{ cidr: `${node.hostIp}/32`, port }], dnsAddresses: [`${node.clusterDns}/32`] };
}

/** The same settings as a configuration file, for a hub started by its CLI. */
export async function writeRealNodeConfig(options: { admin: k8s.KubeConfig; dir: string; port: number }): Promise<{ configFile: string; prefix: string; node: RealNode }> {
  const { settings, prefix, node } = await realNodeSettings(options);
  const configFile = path.join(options.dir, 'atrium.yaml');
  writeFileSync(configFile, stringify(settings));
  return { configFile, prefix, node };
}

/**
 * A relay on the node's bridge address to a test server that listens on
 * loopback only (S3, PostgreSQL), so pods can reach it.
 */
export const bridgeRelay = (host: string, upstream: URL) => tcpRelay(host, upstream);
