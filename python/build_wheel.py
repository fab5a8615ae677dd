#!/usr/bin/env python3
"""Build python/dist/atrium-<version>-py3-none-any.whl with the standard library only.

A wheel is a zip with the package files and a .dist-info folder (PEP 427);
writing it directly keeps the build offline and reproducible (fixed
timestamps), so the image environments, which hash the wheel, are rebuilt
only when the helper's code changes.
"""
import base64
import hashlib
import json
import os
import re
import sys
import zipfile

here = os.path.dirname(os.path.abspath(__file__))
version = re.search(r'__version__ = "([^"]+)"', open(os.path.join(here, "atrium", "__init__.py")).read()).group(1)
dist = os.path.join(here, "dist")
name = f"atrium-{version}-py3-none-any.whl"
info = f"atrium-{version}.dist-info"

files = {}
for fn in sorted(os.listdir(os.path.join(here, "atrium"))):
    if fn.endswith(".py"):
        files[f"atrium/{fn}"] = open(os.path.join(here, "atrium", fn), "rb").read()
# In every environment the wheel is installed into: the mount agent's server
# extension (idle unless the hub sets ATRIUM_DATASETS_AGENT=1), and kernel
# WebSockets that send each message at once (atrium/kernel_websocket.py).
files[f"atrium-{version}.data/data/etc/jupyter/jupyter_server_config.d/atrium.json"] = (
    json.dumps(
        {
            "ServerApp": {
                "jpserver_extensions": {"atrium.mount_agent": True, "atrium.kernel_websocket": True},
            }
        },
        indent=2,
    )
    + "\n"
).encode()
files[f"{info}/METADATA"] = (
    f"Metadata-Version: 2.1\nName: atrium\nVersion: {version}\n"
    "Summary: Atrium workspace helper: governed data sets as pandas DataFrames\nRequires-Python: >=3.9\n"
).encode()
files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: atrium build_wheel.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


record = "".join(f"{path},{digest(data)},{len(data)}\n" for path, data in files.items()) + f"{info}/RECORD,,\n"
files[f"{info}/RECORD"] = record.encode()

os.makedirs(dist, exist_ok=True)
target = os.path.join(dist, name)
tmp = target + ".tmp"
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
    for path, data in files.items():
        entry = zipfile.ZipInfo(path, date_time=(2026, 1, 1, 0, 0, 0))
        entry.external_attr = 0o644 << 16
        entry.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(entry, data)
if os.path.exists(target) and open(target, "rb").read() == open(tmp, "rb").read():
    os.remove(tmp)
else:
    os.replace(tmp, target)
print(f"python: built {os.path.relpath(target, os.path.dirname(here))}")
sys.exit(0)
