"""Building a turn's answer: the evidence-first turn and the model-authored one, the model as explainer,
renderings in the learner's language and their check, what is shown after the citation check, refusals."""
