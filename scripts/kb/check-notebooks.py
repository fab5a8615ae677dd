#!/usr/bin/env python3
"""Checks the tutorial notebooks: valid nbformat 4 JSON, and their code cells
run, each notebook in a fresh folder holding it and the data files its
article lists (as the JupyterLab extension copies them).

Run it with the datascience image's Python, e.g.
  .cache/envs/datascience-*/bin/python scripts/kb/check-notebooks.py [--first-cell-only]
"""
import json, os, pathlib, re, shutil, sys, tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
KB = ROOT / "kb"
first_only = "--first-cell-only" in sys.argv
os.environ.setdefault("MPLBACKEND", "Agg")
failures = 0
for article in sorted((KB / "articles").glob("*.md")):
    text = article.read_text()
    nb = re.search(r"^notebook:\s*(\S+)\s*$", text, re.M)
    if not nb:
        continue
    files = re.search(r"^files:\s*\[(.*)\]\s*$", text, re.M)
    names = [f.strip() for f in files.group(1).split(",") if f.strip()] if files else []
    path = KB / "notebooks" / nb.group(1)
    data = json.loads(path.read_text())
    assert data["nbformat"] == 4 and isinstance(data["cells"], list), f"{path}: not nbformat 4"
    cells = [c for c in data["cells"] if c["cell_type"] == "code"]
    assert cells, f"{path}: no code cells"
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            shutil.copy(KB / "data" / name, tmp)
        cwd = os.getcwd()
        os.chdir(tmp)
        scope = {"__name__": "__main__"}
        try:
            for i, cell in enumerate(cells[:1] if first_only else cells):
                exec(compile("".join(cell["source"]), f"{path.name}[{i}]", "exec"), scope)
            print(f"ok   {path.name} ({'first cell' if first_only else f'{len(cells)} code cells'})")
        except Exception as e:  # noqa: BLE001
            failures += 1
            print(f"FAIL {path.name}: {type(e).__name__}: {e}")
        finally:
            os.chdir(cwd)
sys.exit(1 if failures else 0)
