"""Google Forms and Sheets: generating forms from definitions, and the plumbing for reading them.

Public entry points:
- generate.generate_forms(definitions, ...) -> [GenerateResult]: create/update forms in place.
- registry.load_registry(definition) -> Registry | None: form id and questionId of every field.
- client.GoogleSession(scopes, credentials_path) / client.execute(request, what): authenticated
  Forms/Sheets services and gspread clients with bounded retries and the API root override.
- credentials.SCOPES_GENERATE / SCOPES_SYNC: least-privilege scopes per command.
- emulator.run_emulator() / emulator.testing.google_sandbox(dir): the local Google stand-in.
"""
