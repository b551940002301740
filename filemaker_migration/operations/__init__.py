"""Operating the migration: discover, test one, verify, relink, roll back, refresh.

Each module holds one operation's logic and returns its result as data; the
management commands of the same names only parse options and print.
"""
