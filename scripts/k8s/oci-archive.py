#!/usr/bin/env python3
"""Write a single-layer OCI image archive (an OCI image layout in a tar) from
a directory tree, reproducibly: fixed mtimes and owners, so the same inputs
give the same digests. Used for the real test node's own small images (the
pause image, a busybox test image) instead of a registry.

Usage: oci-archive.py OUT.tar REF ROOTFS_DIR [--entrypoint JSON] [--cmd JSON]
REF is the full image reference (e.g. registry.k8s.io/pause:3.10.2); it is
recorded as io.containerd.image.name and org.opencontainers.image.ref.name.
"""
import argparse, gzip, hashlib, io, json, os, tarfile

p = argparse.ArgumentParser()
p.add_argument('out'); p.add_argument('ref'); p.add_argument('rootfs')
p.add_argument('--entrypoint', default='null'); p.add_argument('--cmd', default='null')
a = p.parse_args()

def add_tree(tar, root):
    entries = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for n in sorted(dirs + files):
            entries.append(os.path.join(d, n))
    for full in entries:
        info = tar.gettarinfo(full, arcname=os.path.relpath(full, root))
        info.uid = info.gid = 0; info.uname = info.gname = 'root'; info.mtime = 0
        if info.isreg():
            with open(full, 'rb') as f:
                tar.addfile(info, f)
        else:
            tar.addfile(info)

raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode='w', format=tarfile.PAX_FORMAT) as t:
    add_tree(t, a.rootfs)
diff_id = 'sha256:' + hashlib.sha256(raw.getvalue()).hexdigest()
layer = gzip.compress(raw.getvalue(), mtime=0)

def blob(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest(), data

layer_digest, _ = blob(layer)
config = json.dumps({
    'architecture': 'amd64', 'os': 'linux', 'created': '1970-01-01T00:00:00Z',
    'config': {k: v for k, v in {'Entrypoint': json.loads(a.entrypoint), 'Cmd': json.loads(a.cmd),
                                 'Env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']}.items() if v is not None},
    'rootfs': {'type': 'layers', 'diff_ids': [diff_id]},
}, sort_keys=True).encode()
config_digest, _ = blob(config)
manifest = json.dumps({
    'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
    'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': config_digest, 'size': len(config)},
    'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip', 'digest': layer_digest, 'size': len(layer)}],
}, sort_keys=True).encode()
manifest_digest, _ = blob(manifest)
index = json.dumps({
    'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json',
    'manifests': [{'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': manifest_digest, 'size': len(manifest),
                   'annotations': {'io.containerd.image.name': a.ref, 'org.opencontainers.image.ref.name': a.ref}}],
}, sort_keys=True).encode()

tmp = a.out + '.tmp'
with tarfile.open(tmp, 'w', format=tarfile.PAX_FORMAT) as out:
    def put(name, data):
        info = tarfile.TarInfo(name); info.size = len(data); info.mtime = 0; info.mode = 0o644
        out.addfile(info, io.BytesIO(data))
    put('oci-layout', b'{"imageLayoutVersion":"1.0.0"}')
    put('index.json', index)
    for d, data in ((layer_digest, layer), (config_digest, config), (manifest_digest, manifest)):
        put('blobs/sha256/' + d.split(':')[1], data)
os.replace(tmp, a.out)
