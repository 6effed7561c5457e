"""The eval suite: golden cases (JSONL), pure metric functions, judges, a runner and reports.

`tutor eval` is the entry point (see `evals.cli`). Nothing heavy is imported
here, so `tutor --help` stays fast.
"""
