"""A second Django project shaped like an existing clinic app (not ours).

Its `records` app keeps patients, batches and images the way many clinic apps
do: an integer patient pk, the FileMaker id inside a JSON column, batches owned
through a generic relation with no date column and no unique constraint. The
migration reaches it only through the configurable target (see settings.py).
"""
