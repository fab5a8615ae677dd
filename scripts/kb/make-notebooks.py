#!/usr/bin/env python3
"""Writes the knowledge-base tutorial notebooks (kb/notebooks/*.ipynb).

The notebooks are generated so they stay small, consistent and reviewable:
edit the cells here and run `python3 scripts/kb/make-notebooks.py`.
Each notebook's first code cell runs in the `datascience` image with the
notebook's folder as working directory; data files a notebook reads are listed
in its article's `files:` and copied next to it.
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "kb" / "notebooks"

SETUP_CHECK = '''import os, sys, platform
import numpy as np, pandas as pd, sklearn, matplotlib
print(f"user: {os.environ.get('ATRIUM_USER', '(not in Atrium)')}, workspace: {os.environ.get('ATRIUM_WORKSPACE', '-')}")
print(f"Python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}, scikit-learn {sklearn.__version__}, matplotlib {matplotlib.__version__}")'''

LOAD_SALES = '''from pathlib import Path
DATA = Path("retail_sales.csv")
if not DATA.exists():
    raise FileNotFoundError(
        "retail_sales.csv is not next to this notebook. The Knowledge base panel copies it for you; "
        "otherwise download it from the article page (Data: retail_sales.csv) into this folder."
    )
sales = pd.read_csv(DATA, parse_dates=["date"])
print(sales.shape)
sales.head()'''


def md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text.strip("\n").splitlines(keepends=True)}


def code(text):
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": text.strip("\n").splitlines(keepends=True)}


def notebook(cells):
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.11"},
            "atrium": {"source": "kb"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


NOTEBOOKS = {
    "getting-started": [
        md("""
# Your first notebook in Atrium

Run each cell with **Shift+Enter**. This notebook is in your **home folder**, which every workspace of yours opens and which is kept when a workspace stops.
"""),
        code(SETUP_CHECK),
        md("## Where am I?\nThe working directory is the notebook's folder; `~` is your home folder."),
        code('''from pathlib import Path
print("working directory:", Path.cwd())
print("home folder:", Path.home())
print("files here:", sorted(p.name for p in Path.cwd().iterdir())[:20])'''),
        md("## A first calculation and chart"),
        code('''import matplotlib.pyplot as plt
x = np.linspace(0, 4 * np.pi, 200)
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.plot(x, np.sin(x))
ax.set_title("Hello from your workspace")
plt.show()'''),
        md("## Save something\nFiles you write are kept when the workspace stops."),
        code('''out = Path("my-first-output.txt")
out.write_text("Written from Atrium\\n")
print(out.resolve(), out.stat().st_size, "bytes")'''),
        md("""
## Next

- **Ctrl+S** saves this notebook.
- **File → Hub Control Panel** goes back to your workspaces; **Stop** the workspace when you are done.
- Idle workspaces are stopped after an hour by default; a busy kernel is never idle.
"""),
    ],
    "choosing-image-and-size": [
        md("""
# Choosing an image and a size

Check what your workspace has, and how much memory your data needs, before picking a size.
"""),
        code(SETUP_CHECK + '''
print("CPUs visible:", os.cpu_count())'''),
        md("## How much memory may I use?\nAtrium enforces the size's memory limit. On Linux the cgroup limit is readable:"),
        code('''def memory_limit_bytes():
    for f in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            value = Path(f).read_text().strip()
            if value.isdigit() and int(value) < 1 << 60:
                return int(value)
        except OSError:
            pass
    return None

from pathlib import Path
limit = memory_limit_bytes()
print("memory limit:", f"{limit / 2**30:.1f} GiB" if limit else "not visible from here (ask your platform team)")'''),
        md("## How big is a data frame in memory?\nA rule of thumb: 2–5× the CSV size."),
        code('''rows = 1_000_000
df = pd.DataFrame({
    "store": np.random.default_rng(0).choice(["north-01", "south-01", "west-01"], rows),
    "units": np.random.default_rng(1).integers(0, 200, rows),
    "price": np.random.default_rng(2).random(rows) * 100,
})
print(f"{rows:,} rows use {df.memory_usage(deep=True).sum() / 2**20:.0f} MiB")
df["store"] = df["store"].astype("category")
print(f"with a categorical column: {df.memory_usage(deep=True).sum() / 2**20:.0f} MiB")'''),
        md("""
## Decide

| Size | Memory | Rough data frame size that fits comfortably |
| --- | --- | --- |
| Small | 2 GiB | up to ~500 MB |
| Medium | 4 GiB | up to ~1 GB |
| Large | 16 GiB | up to ~5 GB |

Too small? Save, stop the workspace, start it again with a larger size — your files stay.
"""),
    ],
    "pandas-scikit-learn-retail": [
        md("""
# pandas and scikit-learn on retail sales

`retail_sales.csv` (next to this notebook) holds 180 days of synthetic daily sales for 4 stores and 3 categories.
"""),
        code(SETUP_CHECK + "\n" + LOAD_SALES),
        md("## Explore"),
        code('''print(sales.dtypes)
sales.groupby(["region", "category"])["revenue"].sum().unstack().round(0)'''),
        code('''import matplotlib.pyplot as plt
weekly = sales.set_index("date").resample("W")["revenue"].sum()
fig, ax = plt.subplots(figsize=(8, 3))
ax.plot(weekly.index, weekly / 1000)
ax.set_title("Weekly revenue (thousands)")
plt.show()'''),
        code('''promo = sales.groupby(["category", "promo"])["units"].mean().unstack()
promo.columns = ["regular", "promotion"]
promo["uplift_%"] = (promo["promotion"] / promo["regular"] - 1) * 100
promo.round(1)'''),
        md("## Predict units sold\nTrain on the past, test on the last 28 days, and compare with a naive baseline."),
        code('''from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import mean_absolute_error
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

sales["weekday"] = sales["date"].dt.day_of_week
categorical = ["store", "category"]
features = categorical + ["weekday", "promo", "temperature_c"]
cutoff = sales["date"].max() - pd.Timedelta(days=28)
train, test = sales[sales["date"] <= cutoff], sales[sales["date"] > cutoff]

model = Pipeline([
    ("prep", ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), categorical)], remainder="passthrough")),
    ("gbr", HistGradientBoostingRegressor(random_state=0)),
])
model.fit(train[features], train["units"])
pred = model.predict(test[features])

baseline = train.groupby(["store", "category"])["units"].mean().rename("baseline")
naive = test.join(baseline, on=["store", "category"])["baseline"]
print(f"model MAE:    {mean_absolute_error(test['units'], pred):.1f} units")
print(f"baseline MAE: {mean_absolute_error(test['units'], naive):.1f} units")'''),
        md("The model should clearly beat the baseline: it knows about weekends and promotions. Next: *How to build a scikit-learn pipeline without leaking data*."),
    ],
    "data-access": [
        md("""
# Data access: find, load and mount governed datasets

Run each cell with **Shift+Enter** in an Atrium workspace. `from atrium import datasets` talks to the hub with your workspace's own credentials: it sees what you may see, masks personal data as your access requires, and every read is written to the audit log.
"""),
        code(SETUP_CHECK + '''
try:
    from atrium import datasets
except ImportError:
    datasets = None
    print("The atrium helper is not installed in this image: use the Data science image.")'''),
        md("## The catalog\nEvery dataset with its owner, classification and your access. Public and internal data open at once; confidential and restricted data need a request."),
        code('''def catalog():
    try:
        return pd.DataFrame(datasets.list())[["name", "title", "owner_team", "classification", "access", "pii_cleared"]]
    except Exception as e:  # outside a workspace, or the hub is unreachable
        print(f"Cannot reach the catalog here: {e}")
        return pd.DataFrame()

catalog() if datasets else None'''),
        md("## Load a dataset into pandas\nPersonal data is hashed (same value, same token: joins and group-bys still work) or redacted, unless your grant clears it. The frame records which columns were masked."),
        code('''def load(name):
    try:
        df = datasets.load(name)
        print(f"{name}: {df.shape[0]} rows; masked for you: {df.attrs['atrium_masked_columns'] or 'nothing'}")
        return df
    except Exception as e:
        print(f"{name}: {e}")

stores = load("store-locations") if datasets else None
stores.head() if stores is not None else None'''),
        md("""
## Ask for access

For confidential data (in the demo: `sales`, owned by *sales-finance*), open it in the **Datasets** panel of the Atrium sidebar (or on the hub's **Datasets** page), press **Request access** and say what you need it for. The owning team's admins approve it in the hub under **Datasets → Access approvals**; restricted data (e.g. `payroll`) also needs an end date and a platform admin.

Asking is done by you, in the panel or the hub: code in a workspace can read and mount what you may read, but never asks for, approves or grants access in your name.
"""),
        md("## Masked columns still group\nHashing is keyed by the hub, per dataset and per team: within your team's view of a dataset the same e-mail always gives the same token, in every download. Counting and grouping work on the tokens (joining two datasets on a masked column needs the owners to mark it as a join key):"),
        code('''sales = load("sales") if datasets else None
if sales is not None:
    per_customer = sales.groupby("email")["amount"].sum().sort_values(ascending=False)
    print(per_customer.head())
    print("distinct customers:", sales["email"].nunique())'''),
        md("""
## Mount

**Mount** in the Datasets panel (or `datasets.mount("sales")`) puts a read-only, masked copy in `~/datasets/sales/`; if access is revoked or expires, the folder disappears within a minute.

```python
path = datasets.mount("sales")
pd.read_csv(f"{path}/sales.csv").head()
```
"""),
    ],
    "publishing-guardrails": [
        md("""
# Publish a notebook as a model

This notebook is ready to publish from the **Models** panel in the Atrium sidebar. It trains a scikit-learn model on the retail sample and follows the publishing contract: `predict(inputs)` (JSON in, JSON out), `example_inputs` for the smoke test, a `metrics` dict, and files under `artifacts/` named in the code. Run all cells, then press **Publish this notebook**.
"""),
        code(SETUP_CHECK),
        md("## Parameters\n\nThe cell tagged `parameters` holds the knobs."),
        {**code('max_iter = 200\nholdout_days = 28'), "metadata": {"tags": ["parameters"]}},
        md("## Data as an artifact\n\nThe guardrails re-run the notebook with only its artifacts, so the data it reads is kept under `artifacts/`."),
        code('''import shutil
from pathlib import Path
DATA = Path("artifacts/retail_sales.csv")
if not DATA.exists():
    if not Path("retail_sales.csv").exists():
        raise FileNotFoundError("retail_sales.csv is not next to this notebook: open the tutorial from the Knowledge Base panel, which copies it.")
    DATA.parent.mkdir(exist_ok=True)
    shutil.copy("retail_sales.csv", DATA)
sales = pd.read_csv("artifacts/retail_sales.csv", parse_dates=["date"])
print(sales.shape)'''),
        md("## Train and measure"),
        code('''import joblib
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import mean_absolute_error
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

sales["weekday"] = sales["date"].dt.day_of_week
features = ["store", "category", "weekday", "promo", "temperature_c"]
cutoff = sales["date"].max() - pd.Timedelta(days=holdout_days)
train, test = sales[sales["date"] <= cutoff], sales[sales["date"] > cutoff]
model = Pipeline([
    ("prep", ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["store", "category"])], remainder="passthrough")),
    ("gbr", HistGradientBoostingRegressor(max_iter=max_iter, random_state=0)),
]).fit(train[features], train["units"])
pred = model.predict(test[features])
baseline = test.join(train.groupby(["store", "category"])["units"].mean().rename("b"), on=["store", "category"])["b"]
# Atrium records these numbers from its own clean re-run and compares them between versions.
metrics = {"mae": float(mean_absolute_error(test["units"], pred)), "baseline_mae": float(mean_absolute_error(test["units"], baseline))}
joblib.dump(model, "artifacts/model.joblib")
metrics'''),
        md("## The serving contract: `predict(inputs)`\n\nA list of records in, a list of predicted units out. `example_inputs` is what the reproducibility guardrail sends."),
        code('''import json
_served = joblib.load("artifacts/model.joblib")

def predict(inputs):
    """A list of records (JSON) in, a list of predicted units out."""
    frame = pd.DataFrame(inputs)
    frame["weekday"] = pd.to_datetime(frame["date"]).dt.day_of_week
    return [round(float(x), 1) for x in _served.predict(frame[features])]

example_inputs = json.loads(test.head(2)[["date", "store", "category", "promo", "temperature_c"]].to_json(orient="records", date_format="iso"))
predict(example_inputs)'''),
        md("""
## Before you publish

- Keep credentials out of cells and outputs: read them from environment variables. A key printed in an output blocks the version (**No secrets in sources or outputs**).
- Show aggregates, not customer rows: emails, phone or card numbers in outputs block the version unless your data grants PII clearance.
- In the Models panel fill in the model card — description, intended use, limitations, owner. For this model, limitations could be: *synthetic sample; no holidays; stores and categories seen in training only*.
- Restart the kernel and run all cells, then **Publish this notebook**. The guardrails' reasons appear in the panel; promote to staging when they pass.
"""),
    ],
    "troubleshooting-spawns": [
        md("""
# Troubleshooting workspace starts

Run this from a workspace that *does* start to check the usual causes of failed starts: leftover JupyterLab settings, a full home folder, memory. The article lists every message the hub shows.
"""),
        code(SETUP_CHECK + '''
from pathlib import Path
home = Path.home()
jupyter_dir = home / ".jupyter"
print("home folder:", home)
print("~/.jupyter exists:", jupyter_dir.exists())
for f in sorted(jupyter_dir.glob("*.py")) + sorted(jupyter_dir.glob("*.json")) if jupyter_dir.exists() else []:
    print("  settings file:", f.name, "- a broken one can stop JupyterLab from starting")'''),
        md("## How much is in my home folder?"),
        code('''import shutil
def folder_size(path):
    total = 0
    for p in path.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
        except OSError:
            pass
    return total
print(f"home folder uses {folder_size(Path.home()) / 2**20:.1f} MiB")
usage = shutil.disk_usage(Path.home())
print(f"disk free: {usage.free / 2**30:.1f} GiB of {usage.total / 2**30:.1f} GiB")'''),
        md("## Ask the hub about your workspaces\nWith a personal API token (API tokens page) in the `ATRIUM_TOKEN` environment variable, the hub's API tells you each workspace's status and message."),
        code('''import json, urllib.request
token = os.environ.get("ATRIUM_TOKEN")
hub = os.environ.get("ATRIUM_HUB_URL", "http://127.0.0.1:8000")
user = os.environ.get("ATRIUM_USER")
if token and user:
    req = urllib.request.Request(f"{hub}/hub/api/users/{user}/workspaces", headers={"Authorization": f"token {token}"})
    for ws in json.load(urllib.request.urlopen(req, timeout=5)):
        print(f"{ws['name']:>15}  {ws['status']:<8}  {ws['message'] or ''}")
else:
    print("Set ATRIUM_TOKEN (and ATRIUM_HUB_URL if the hub is not on 127.0.0.1:8000) to list your workspaces here.")'''),
    ],
    "gpu-workloads": [
        md("""
# GPU workloads

> **GPUs come with the Kubernetes backend.** On a hub that runs workspaces on Kubernetes, the GPU (small) size places your workspace on a GPU node within your team's GPU quota; a hub that runs workspaces as local processes has no GPUs. This notebook checks your hardware and helps you decide whether you need a GPU at all.
"""),
        code(SETUP_CHECK + '''
import shutil
print("CPUs visible:", os.cpu_count())
print("nvidia-smi present:", shutil.which("nvidia-smi") is not None)
print("CUDA_VISIBLE_DEVICES:", os.environ.get("CUDA_VISIBLE_DEVICES", "(not set)"))'''),
        md("## Time a CPU workload\nMany tabular models train in seconds on CPU; GPUs pay off for deep learning on images, text and large matrices."),
        code('''import time
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
X, y = make_classification(n_samples=50_000, n_features=40, random_state=0)
start = time.perf_counter()
HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(X, y)
print(f"gradient boosting on 50,000 x 40: {time.perf_counter() - start:.1f} s on CPU")
a = np.random.default_rng(0).random((1500, 1500))
start = time.perf_counter()
a @ a
print(f"1500x1500 matrix product: {time.perf_counter() - start:.2f} s on CPU")'''),
        md("## Write code that runs on both\nPick the device at run time so the same notebook works today (CPU) and on a GPU workspace later."),
        code('''def pick_device():
    try:
        import torch  # not in the datascience image today
        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"
print("device:", pick_device())'''),
    ],
}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        path = OUT / f"{name}.ipynb"
        path.write_text(json.dumps(notebook(cells), indent=1, ensure_ascii=False) + "\n")
        print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    main()
