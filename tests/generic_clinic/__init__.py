"""A second Django project shaped like an existing clinic app (not ours).

Its `records` app keeps patients, batches and images the way a real clinic
app does: UUID primary keys, the FileMaker contact id inside a nullable JSON
column, batches owned through a generic relation (a UUID `object_id`) with no
date column and no unique constraint, required names, and an `Image.save()`
that recounts its batch. The migration reaches it only through the
configurable target (see settings.py).
"""
