"""`python -m atrium.lab`: JupyterLab, started about 1.5 s sooner.

JupyterLab's event logging (jupyter_events) imports jsonschema's format
checkers, and jsonschema loads `rfc3987_syntax` when it is installed (it is:
jupyter-events requires `jsonschema[format-nongpl]`). That module builds a
Lark grammar for RFC 3987 at import, about 1.6 s of a 2.7 s start on a
2-core machine, to check `iri`/`uri-reference` formats that none of the
server's event schemas use. The server process goes without it; kernels and
user code are not affected (they never run this module).

Arguments are `jupyter lab`'s.
"""

import sys


def _skip_iri_grammar():
    # A None entry makes `import rfc3987_syntax` raise ImportError, which
    # jsonschema treats as "not installed".
    sys.modules.setdefault("rfc3987_syntax", None)


def main():
    _skip_iri_grammar()
    from jupyterlab.labapp import main as lab_main

    sys.argv[0] = "jupyter-lab"
    sys.exit(lab_main())


if __name__ == "__main__":
    main()
