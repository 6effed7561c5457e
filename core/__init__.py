"""The foundation every package stands on: the records stages pass, settings, errors, backend protocols, language.

It imports nothing of this project (a checked rule: `[tool.importlinter]` in pyproject.toml), so `ingest`,
`index`, `tutor`, `ui` and `evals` can all use it without pulling in each other.
"""
