"""Saves the benchmark's iris classifier as an MLflow model (run with the MLflow venv's Python).

The same model as the Atrium bundle's notebook: LogisticRegression(max_iter=500)
fitted on scikit-learn's iris data set.
"""
import sys

import mlflow.sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

X, y = load_iris(return_X_y=True)
clf = LogisticRegression(max_iter=500).fit(X, y)
mlflow.sklearn.save_model(clf, sys.argv[1])
print(f"saved to {sys.argv[1]}")
