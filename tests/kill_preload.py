"""Imported once by test_kill's fork server, so each sync process starts with the reference loaded."""
from forms_sync.reference.regions import load

load().dimension_table()
