"""Millrace training service: declared training specs in, evaluated scikit-learn models out."""
